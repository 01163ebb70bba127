// The definition of one command, as its commander program holds it: what the man pages and the bash
// completion are generated from (scripts/dev/man.ts), so that they say what the command takes.
//
//   CORRAL_CLI_SPEC=out.json tsx scripts/dev/cli-spec.ts vm      → out.json (a CliSpec)
//
// It loads scripts/NAME.ts with commander's parse() replaced: when the command has built its
// program and asks commander to parse the command line, the program is described and the process
// exits, before anything runs. readCliSpec() runs this in a child process per command.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';

export interface OptionSpec {
  flags: string;
  long?: string;
  short?: string;
  description: string;
  /** Takes a value: <required> or [optional]. */
  takesValue: boolean;
  /** The value's name, as in the flags ("n", "file"). */
  valueName?: string;
  negate: boolean;
  defaultValue?: string;
}

export interface ArgumentSpec {
  name: string;
  description: string;
  required: boolean;
  variadic: boolean;
}

export interface CliSpec {
  name: string;
  description: string;
  usage: string;
  arguments: ArgumentSpec[];
  options: OptionSpec[];
  /** The text after the generated help (details, examples): addHelpText('after', …). */
  after: string;
  commands: CliSpec[];
}

function describe(cmd: Command): CliSpec {
  let after = '';
  (cmd as unknown as NodeJS.EventEmitter).emit('afterHelp', { error: false, command: cmd, write: (s: string) => (after += s) });
  return {
    name: cmd.name(),
    description: cmd.description(),
    usage: cmd.usage(),
    arguments: cmd.registeredArguments.map((a) => ({ name: a.name(), description: a.description, required: a.required, variadic: a.variadic })),
    options: cmd.options
      .filter((o) => !o.hidden)
      .map((o) => ({
        flags: o.flags,
        long: o.long,
        short: o.short,
        description: o.description,
        takesValue: o.required || o.optional,
        valueName: (/[<[]([^>\]]+)[>\]]/.exec(o.flags) ?? [])[1],
        negate: o.negate,
        ...(o.defaultValue !== undefined && typeof o.defaultValue !== 'boolean' ? { defaultValue: String(o.defaultValue) } : {}),
      })),
    after: after.replace(/^\n+/, '').replace(/\s+$/, ''),
    commands: cmd.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden).map(describe),
  };
}

/** The spec of command NAME (scripts/NAME.ts), read in a process of its own. */
export async function readCliSpec(root: string, name: string): Promise<CliSpec> {
  const dir = await mkdtemp(join(tmpdir(), 'corral-cli-spec-'));
  try {
    const out = join(dir, 'spec.json');
    await promisify(execFile)(join(root, 'node_modules/.bin/tsx'), [join(root, 'scripts/dev/cli-spec.ts'), name], {
      cwd: root,
      env: { ...process.env, CORRAL_CLI_SPEC: out },
    });
    return JSON.parse(await readFile(out, 'utf8')) as CliSpec;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const target = process.env.CORRAL_CLI_SPEC;
if (target && process.argv[2]) {
  const name = process.argv[2];
  if (!/^[a-z_]+$/.test(name)) throw new Error(`not a command name: ${name}`);
  const dump = function (this: Command): never {
    let root: Command = this;
    while (root.parent) root = root.parent;
    writeFileSync(target, `${JSON.stringify(describe(root))}\n`);
    process.exit(0);
  };
  Command.prototype.parse = dump as unknown as Command['parse'];
  Command.prototype.parseAsync = dump as unknown as Command['parseAsync'];
  await import(join(new URL('../..', import.meta.url).pathname, 'scripts', `${name}.ts`));
}
