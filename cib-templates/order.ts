// `--after OTHER`: start THEN only once FIRST has started (for a TransientDomain with the startup
// signal: once FIRST's guest said it is ready). Mandatory: stopping FIRST stops THEN first.
export const after = `
<rsc_order id="{{id}}" first="{{first}}" then="{{then}}" kind="Mandatory"/>
`;
