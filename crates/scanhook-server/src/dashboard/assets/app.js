// scanhook dashboard: the only script. Progressive enhancement only: every page works
// without it. Copy buttons, options shown only while the choice they belong to is made,
// the current page marked in the navigation, filters folded on a phone, and pages that
// refresh while a delivery is under way.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const target = document.getElementById(button.dataset.copy);
    if (!target) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(target.value);
      } catch {
        target.select();
        document.execCommand("copy");
      }
      button.textContent = "Copied";
      button.classList.add("done");
      setTimeout(() => {
        button.textContent = "Copy";
        button.classList.remove("done");
      }, 2000);
    });
  }
  for (const input of document.querySelectorAll("input[readonly]")) {
    input.addEventListener("focus", () => input.select());
  }
  // `data-show-when="kind=cloudevents"`: shown only while the select #kind has that value.
  for (const group of document.querySelectorAll("[data-show-when]")) {
    const [name, value] = group.dataset.showWhen.split("=");
    const select = document.getElementById(name);
    if (!select) continue;
    const update = () => {
      group.hidden = select.value !== value;
    };
    select.addEventListener("change", update);
    update();
  }
  const here = window.location.pathname;
  for (const link of document.querySelectorAll("header.top nav a")) {
    const path = link.getAttribute("href");
    if (here === path || here.startsWith(path + "/")) link.setAttribute("aria-current", "page");
  }
  const narrow = window.matchMedia("(max-width: 760px)");
  for (const box of document.querySelectorAll("details[data-narrow-closed]")) {
    const fit = () => { box.open = !narrow.matches; };
    fit();
    narrow.addEventListener("change", fit);
  }
  const refresh = Number(document.body.dataset.refresh || 0);
  if (refresh > 0) setTimeout(() => window.location.reload(), refresh * 1000);
});
