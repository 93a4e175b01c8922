// ksegcli personas snippet - user id: {{user_id_label}}
// Kameleoon custom data acquisition code (function body): nothing until Segment's data for this
// user has arrived, then the personas (Engage audiences) the user is currently in.
{{user_id}}
{{remote_data}}
var personas = [];
if (data) {
  Object.keys(data).forEach(function (name) {
    // Audience Entered stores true, Audience Exited false.
    if (data[name] === true || data[name] === "true") personas.push(name);
  });
}
// An empty list is a value too: it clears personas the user has left.
return {"value": personas, "overwrite": true};
