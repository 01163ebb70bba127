// `--after OTHER[:mandatory]`: start THEN only once FIRST has started (for a TransientDomain with
// the startup signal: once FIRST's guest said it is ready).
//   Optional (the default): applies when both start (or stop) in the same transition, e.g. a cold
//     start of the cluster; a running THEN is left alone when FIRST fails over or restarts.
//   Mandatory: THEN never runs without FIRST: when FIRST stops or moves, THEN is stopped first
//     and restarted after it.
export const after = `
<rsc_order id="{{id}}" first="{{first}}" then="{{then}}" kind="{{kind}}"/>
`;
