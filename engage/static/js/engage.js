/* Engage: progressive enhancements only. Every page works without this file. */
(function () {
  "use strict";
  document.documentElement.classList.remove("no-js");
  document.documentElement.classList.add("js-enabled");

  var EXIT_URL = "/leave";
  var SHIFT_PRESSES_NEEDED = 3;
  var SHIFT_WINDOW_MS = 5000;
  var shiftPresses = [];

  function exitNow(event) {
    if (event) {
      event.preventDefault();
    }
    document.body.classList.add("engage-exiting");
    // replace() so the Back button does not bring this page back.
    window.location.replace(EXIT_URL);
  }

  // Count only Shift pressed on its own: any other key (a capital letter typed with Shift,
  // say) starts the count again, so typing never throws anyone off the page.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Shift") {
      shiftPresses = [];
      return;
    }
    if (event.repeat) {
      return;
    }
    var now = Date.now();
    shiftPresses = shiftPresses.filter(function (time) {
      return now - time < SHIFT_WINDOW_MS;
    });
    shiftPresses.push(now);
    if (shiftPresses.length >= SHIFT_PRESSES_NEEDED) {
      shiftPresses = [];
      exitNow();
    }
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("[data-exit-link]") : null;
    if (link) {
      exitNow(event);
    }
  });
})();
