// The desk's keyboard shortcuts. No inline scripts (CSP): pages opt in through data attributes.
//
//   j / k        move the selection through rows marked data-ticket-row (aria-selected="true")
//   Enter / o    open the selected row's data-ticket-link
//   x            tick the selected row's checkbox (bulk actions)
//   ?            open the help dialog (#shortcuts-help, also opened by [data-shortcuts-help])
//   any other    an element with data-shortcut="<key>" is focused (form fields) or clicked
//                (buttons, links): the ticket page marks its reply, note and assign controls with
//                data-shortcut="r", "n" and "a", and needs no script of its own.
//
// Keys typed into a field, or pressed with Ctrl, Alt or Meta, are left to the browser.
(function () {
  "use strict";

  function typing(target) {
    if (!(target instanceof Element)) { return false; }
    if (target.isContentEditable) { return true; }
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-ticket-row]"));
  }

  function selectedIndex(list) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].getAttribute("aria-selected") === "true") { return i; }
    }
    return -1;
  }

  function select(list, index) {
    if (!list.length) { return; }
    index = Math.max(0, Math.min(list.length - 1, index));
    list.forEach(function (row, i) { row.setAttribute("aria-selected", i === index ? "true" : "false"); });
    var link = list[index].querySelector("[data-ticket-link]");
    // Focus follows the selection, so screen readers announce the ticket and Enter opens it.
    if (link) { link.focus(); } else { list[index].scrollIntoView({ block: "nearest" }); }
  }

  function openSelected() {
    var list = rows();
    var index = selectedIndex(list);
    if (index < 0) { return false; }
    var link = list[index].querySelector("[data-ticket-link]");
    if (link) { window.location.assign(link.href); return true; }
    return false;
  }

  function showHelp() {
    var dialog = document.getElementById("shortcuts-help");
    if (dialog && typeof dialog.showModal === "function" && !dialog.open) { dialog.showModal(); }
  }

  function activate(key) {
    var target = document.querySelector('[data-shortcut="' + key + '"]');
    if (!target) { return false; }
    if (typing(target)) { target.focus(); } else { target.click(); if (target.focus) { target.focus(); } }
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) { return; }
    if (typing(event.target)) { return; }
    var dialog = document.getElementById("shortcuts-help");
    if (dialog && dialog.open) { return; }
    var key = event.key;
    var list;
    var handled = false;
    if (key === "j" || key === "k") {
      list = rows();
      if (list.length) {
        var current = selectedIndex(list);
        select(list, current < 0 ? 0 : current + (key === "j" ? 1 : -1));
        handled = true;
      }
    } else if (key === "o" || (key === "Enter" && !(event.target instanceof HTMLAnchorElement || event.target instanceof HTMLButtonElement))) {
      handled = openSelected();
    } else if (key === "x") {
      list = rows();
      var index = selectedIndex(list);
      var box = index >= 0 ? list[index].querySelector('input[type="checkbox"]') : null;
      if (box) { box.click(); handled = true; }
    } else if (key === "?") {
      showHelp();
      handled = true;
    } else if (key.length === 1) {
      handled = activate(key);
    }
    if (handled) { event.preventDefault(); }
  });

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target.closest("[data-shortcuts-help]") : null;
    if (target) { showHelp(); }
  });

  // A click anywhere in a row selects it, so j/k continue from there.
  document.addEventListener("focusin", function (event) {
    var row = event.target instanceof Element ? event.target.closest("[data-ticket-row]") : null;
    if (!row) { return; }
    rows().forEach(function (r) { r.setAttribute("aria-selected", r === row ? "true" : "false"); });
  });

  // "Select every ticket on this page".
  document.addEventListener("change", function (event) {
    var all = event.target;
    if (!(all instanceof HTMLInputElement) || !all.hasAttribute("data-select-all")) { return; }
    var table = all.closest("table");
    if (!table) { return; }
    table.querySelectorAll('tbody input[type="checkbox"]').forEach(function (box) { box.checked = all.checked; });
  });
})();
