// `--pin NODE`: run on NODE whenever NODE can run it (INFINITY preference); elsewhere otherwise.
export const pin = `
<rsc_location id="{{id}}" rsc="{{rsc}}" node="{{node}}" score="INFINITY"/>
`;

// `--only-on NODE…`: never anywhere else (-INFINITY on every node whose name is none of them).
export const onlyOn = `
<rsc_location id="{{id}}" rsc="{{rsc}}">
  <rule id="{{id}}-rule" score="-INFINITY" boolean-op="and">
    {{expressions}}
  </rule>
</rsc_location>
`;

// `--local NODE`: the VM's disks live on NODE only, so it runs nowhere else (-INFINITY on every
// other node): a node failure cannot restart it elsewhere, and a move rewrites NODE (vm NAME
// migrate NODE), which Pacemaker carries out as a live migration that copies the disks.
export const local = `
<rsc_location id="{{id}}" rsc="{{rsc}}">
  <rule id="{{id}}-rule" score="-INFINITY">
    <expression id="{{id}}-rule-node" attribute="#uname" operation="ne" value="{{node}}"/>
  </rule>
</rsc_location>
`;

// One node of `--only-on`: "this node is not NODE" (the rule ANDs them).
export const notNode = `
<expression id="{{id}}" attribute="#uname" operation="ne" value="{{node}}"/>
`;

// corral's own temporary placement hints (undrain --return, rolling-reboot): a score for one
// VM on one node, removed again by the command that made it once the VM is where it should be
// (then stickiness keeps it there). Ids start with corral-: corral-return-RSC, corral-steer-RSC-NODE.
export const hint = `
<rsc_location id="{{id}}" rsc="{{rsc}}" node="{{node}}" score="{{score}}"/>
`;
