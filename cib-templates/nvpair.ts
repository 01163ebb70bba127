// One name/value pair of any attribute set (meta_attributes, utilization, cluster options …).
// Ids follow crm_resource/crm_attribute's convention (SET-ID-NAME), so their edits and ours meet.
export const nvpair = `
<nvpair id="{{id}}" name="{{name}}" value="{{value}}"/>
`;
