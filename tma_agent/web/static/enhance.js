/* tma-agent dashboard: a little progressive enhancement, our own, no library, no build step.
 * Every page works without it: forms post and links load whole pages. With it:
 * - <form data-fragment="URL" data-target="SELECTOR">: posted with fetch (its fields, the CSRF
 *   token among them); the server's answer, the fragment, replaces the target in place.
 * - <section data-refresh="URL" data-every="SECONDS">: replaced by the fragment at URL every
 *   SECONDS, and at once when a link with data-refresh-now inside it is clicked.
 * An answer that is not a fragment (an expired session, an error page) falls back to the
 * whole page, as without script. */
(function () {
  "use strict";

  function swap(target, html) {
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var fresh = holder.firstElementChild;
    if (!fresh || fresh.id !== target.id) {
      return false;
    }
    target.replaceWith(fresh);
    fresh.dispatchEvent(new CustomEvent("tma:swapped", { bubbles: true }));
    return true;
  }

  function fragmentOf(answer) {
    var type = answer.headers.get("content-type") || "";
    var usable = answer.ok || answer.status === 429; /* 429: "sync a moment ago", a fragment */
    if (!usable || type.indexOf("text/html") !== 0 || answer.redirected) {
      throw new Error("not a fragment: " + answer.status);
    }
    return answer.text();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.fragment) {
      return;
    }
    var target = document.querySelector(form.dataset.target);
    if (!target) {
      return;
    }
    event.preventDefault();
    target.setAttribute("aria-busy", "true");
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = true; });
    fetch(form.dataset.fragment, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      headers: { "Accept": "text/html" }
    })
      .then(fragmentOf)
      .then(function (html) {
        if (!swap(target, html)) {
          form.submit();
        }
      })
      .catch(function () { form.submit(); });
  });

  function refresh(section) {
    section.setAttribute("aria-busy", "true");
    return fetch(section.dataset.refresh, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(fragmentOf)
      .then(function (html) {
        if (!swap(section, html)) {
          window.location.reload();
        }
      })
      .catch(function () { section.removeAttribute("aria-busy"); });
  }

  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("a[data-refresh-now]") : null;
    var section = link ? link.closest("[data-refresh]") : null;
    if (section) {
      event.preventDefault();
      refresh(section);
    }
  });

  /* One timer for the page: each time it looks the section up again (it is replaced). */
  var auto = document.querySelector("[data-refresh][data-every]");
  if (auto) {
    var id = auto.id;
    var seconds = Math.max(5, parseInt(auto.dataset.every, 10) || 60);
    window.setInterval(function () {
      var current = document.getElementById(id);
      if (current && !document.hidden) {
        refresh(current);
      }
    }, seconds * 1000);
  }
}());
