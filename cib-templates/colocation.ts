// `--avoid OTHER[:SCORE]`: RSC keeps away from OTHER. A finite negative score is a preference
// (Pacemaker drops it when it would leave RSC nowhere to run); -INFINITY is "never together".
export const avoid = `
<rsc_colocation id="{{id}}" rsc="{{rsc}}" with-rsc="{{withRsc}}" score="{{score}}"/>
`;

// `--group-apart TAG`: one ordered (sequential) resource set naming the tag. Pacemaker expands
// the tag to its members and, for a negative score, anti-colocates every member with every
// other one (not just neighbours), so every pair of tagged VMs keeps apart.
export const apart = `
<rsc_colocation id="{{id}}" score="{{score}}">
  <resource_set id="{{id}}-set">
    <resource_ref id="{{tag}}"/>
  </resource_set>
</rsc_colocation>
`;
