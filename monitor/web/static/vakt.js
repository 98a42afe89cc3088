// Vakt team UI: refresh the overview every minute while it is visible and no form is
// being filled in. Nothing else; every page works without this script.
(function () {
  "use strict";
  if (window.location.pathname !== "/") return;
  window.setInterval(function () {
    var active = document.activeElement;
    var typing = active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA");
    if (document.visibilityState === "visible" && !typing) window.location.reload();
  }, 60000);
})();
