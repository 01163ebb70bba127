// A Pacemaker tag (configuration/tags): a named list of resources, here the VMs of one
// `--group-apart` group. Other tools (crmsh, pcs) can act on a tag as a whole.
export const tag = `
<tag id="{{id}}">
  {{refs}}
</tag>
`;

export const objRef = `
<obj_ref id="{{id}}"/>
`;
