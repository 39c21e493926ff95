// "Refund Full Amount" fills the Amount field in place. Without this script the button is a
// submit and the server shows the form again, filled: the page works either way.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-full-amount]");
  if (!button) return;
  event.preventDefault();
  var amount = document.getElementById("amount");
  amount.value = button.getAttribute("data-full-amount");
  amount.focus();
});
