// ksegcli group snippet - user id: {{user_id_label}}
// Kameleoon custom data acquisition code (function body): nothing until Segment's group call
// for this user has arrived, then the group id as a string.
{{user_id}}
{{remote_data}}
var groupId = data && data.groupId;
if (groupId === null || groupId === undefined || groupId === "") return;
return {"value": typeof groupId === "string" ? groupId : JSON.stringify(groupId), "overwrite": true};
