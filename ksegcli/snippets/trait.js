// ksegcli trait snippet - user id: {{user_id_label}}
// Kameleoon custom data acquisition code (function body): nothing until Segment's identify
// traits for this user have arrived, then the trait below as a string.
var traitName = {{trait}};
{{user_id}}
{{remote_data}}
var traits = data && data.traits;
// Own properties only, so a trait named like "constructor" is read as data, not inherited.
if (!traits || typeof traits !== "object") return;
if (!Object.prototype.hasOwnProperty.call(traits, traitName)) return;
var value = traits[traitName];
if (value === null || value === undefined) return;
return {"value": typeof value === "string" ? value : JSON.stringify(value), "overwrite": true};
