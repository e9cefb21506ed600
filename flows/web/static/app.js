// claimwatch web: small progressive enhancements. Every page works without this script.
"use strict";

// The queue's filter form and page links refresh only the results, not the whole page.
async function refreshResults(url) {
  const response = await fetch(url + (url.includes("?") ? "&" : "?") + "partial=1", {
    credentials: "same-origin",
    headers: { "X-Requested-With": "fetch" },
  });
  if (response.redirected || !response.headers.get("content-type")?.startsWith("text/html")) {
    window.location.href = url; // session ended: let the server redirect to the login page
    return;
  }
  const html = await response.text();
  const current = document.getElementById("results");
  current.insertAdjacentHTML("afterend", html);
  current.remove();
  history.replaceState(null, "", url);
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  const message = form.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
    return;
  }
  if (form.dataset.partial === "results") {
    event.preventDefault();
    const params = new URLSearchParams(new FormData(form));
    for (const [key, value] of [...params]) if (value === "") params.delete(key);
    refreshResults(form.action.split("?")[0] + "?" + params.toString());
  }
});

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-partial-link]");
  if (link) {
    event.preventDefault();
    refreshResults(link.getAttribute("href"));
  }
});

// "Select all" and the count of selected cases on the bulk-assign button.
function updateSelected() {
  const count = document.querySelectorAll("input.case-select:checked").length;
  const label = document.getElementById("selected-count");
  if (label) label.textContent = count ? `(${count})` : "";
}

document.addEventListener("change", (event) => {
  if (event.target.id === "select-all") {
    for (const box of document.querySelectorAll("input.case-select")) box.checked = event.target.checked;
  }
  if (event.target.matches("#select-all, input.case-select")) updateSelected();
});
