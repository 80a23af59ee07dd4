// The discharge summary form: "Remove this line" removes its line (lines are added by htmx).
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest(".summary-row .remove-row");
  if (!button) return;
  var row = button.closest(".summary-row");
  var list = row.parentNode;
  if (list.querySelectorAll(".summary-row").length > 1) {
    row.remove();
  } else {
    row.querySelectorAll("input:not([type=hidden]), select").forEach(function (field) {
      if (field.tagName === "SELECT") field.selectedIndex = 0; else field.value = "";
    });
  }
});
