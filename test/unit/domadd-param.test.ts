// domadd --param NAME=VALUE: checked against TransientDomain's own parameter table, rendered as
// instance attributes of the primitive.
import { describe, expect, it } from 'vitest';
import { OptionError, parseAgentParams } from '../../lib/cib/options.js';
import { primitiveXml } from '../../lib/cib/shapes.js';

describe('domadd --param', () => {
  it('accepts a parameter of the agent with a valid value', () => {
    expect(parseAgentParams(['migration_transport=tcp', 'migration_speed=100'])).toEqual({ migration_transport: 'tcp', migration_speed: '100' });
  });

  it('gives nothing when no --param was given', () => {
    expect(parseAgentParams(undefined)).toBeUndefined();
    expect(parseAgentParams([])).toBeUndefined();
  });

  it.each([
    ['migration_transport=carrier-pigeon', /migration_transport=carrier-pigeon/],
    ['migration_speed=fast', /integer/],
    ['no_such_param=1', /has no parameter no_such_param/],
    ['config=<domain/>', /sets config itself/],
    ['migration_transport', /expected NAME=VALUE/],
    ['=tcp', /expected NAME=VALUE/],
    ['force_stop=', /empty value/],
  ])('refuses %s with a message naming it', (item, message) => {
    expect(() => parseAgentParams([item])).toThrow(OptionError);
    expect(() => parseAgentParams([item])).toThrow(message);
  });

  it('refuses the same parameter twice', () => {
    expect(() => parseAgentParams(['force_stop=true', 'force_stop=false'])).toThrow(/given twice/);
  });

  it('renders the parameters as nvpairs of the instance attributes, escaped', () => {
    const xml = primitiveXml({ id: 'vm-a', config: '<domain/>', cpu: 1, hvMemoryMiB: 128, params: { migration_transport: 'tcp', migrate_options: '--x="y"' } }).xml;
    expect(xml).toContain('<nvpair id="vm-a-instance_attributes-migration_transport" name="migration_transport" value="tcp"/>');
    expect(xml).toContain('value="--x=&quot;y&quot;"');
  });
});
