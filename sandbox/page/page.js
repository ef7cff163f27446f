// The sandbox page's only script (served from /__sandbox/ui/page.js; the
// page works without it). On the overview it adds an "auto-refresh"
// switch: while it is on, the page asks /__sandbox/stats every 2 s and
// reloads when the number of API requests received has changed. The
// switch is remembered in localStorage.
(function () {
  'use strict';
  var refresh = document.getElementById('refresh');
  if (!refresh || !window.fetch) {
    return;
  }
  var KEY = 'sendpulse-sandbox-auto-refresh';
  var box = document.createElement('input');
  box.type = 'checkbox';
  box.id = 'auto-refresh';
  var label = document.createElement('label');
  label.htmlFor = box.id;
  label.textContent = 'auto-refresh';
  var wrap = document.createElement('span');
  wrap.className = 'auto';
  wrap.appendChild(box);
  wrap.appendChild(label);
  refresh.parentNode.insertBefore(wrap, refresh.nextSibling);

  try {
    box.checked = window.localStorage.getItem(KEY) === '1';
  } catch (e) {
    box.checked = false;
  }
  box.addEventListener('change', function () {
    try {
      window.localStorage.setItem(KEY, box.checked ? '1' : '0');
    } catch (e) {
      // storage refused: the switch still works for this page
    }
  });

  var seen = refresh.getAttribute('data-total');
  window.setInterval(function () {
    if (!box.checked) {
      return;
    }
    window.fetch('/__sandbox/stats', { cache: 'no-store' })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        var total = String(s.total);
        if (total !== seen) {
          window.location.reload();
        }
      })
      .catch(function () {
        // the sandbox stopped: try again at the next tick
      });
  }, 2000);
})();
