// What a lab's name and its nodes' names may be: host names of lowercase letters, digits and "-",
// at most 31 characters (they become network namespace names, corral.LAB.NODE). One rule for the
// lab's API, its command line and its power protocol.
export const LAB_NAME_RE = /^[a-z][a-z0-9-]{0,30}$/;
