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

// One node of `--only-on`: "this node is not NODE" (the rule ANDs them).
export const notNode = `
<expression id="{{id}}" attribute="#uname" operation="ne" value="{{node}}"/>
`;
