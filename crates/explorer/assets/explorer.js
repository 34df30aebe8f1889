// Live updates: the server says when the chain moved (a new snapshot's version); the page then
// fetches itself and swaps in its live part. No framework, no build step.
"use strict";

(function () {
  const live = () => document.getElementById("live");
  let fetching = false;
  let wanted = 0;

  async function refresh() {
    if (fetching) return;
    fetching = true;
    try {
      while (wanted > Number(live().dataset.version)) {
        const target = wanted;
        const response = await fetch(window.location.href, { cache: "no-store" });
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.getElementById("live");
        const head = page.getElementById("head");
        if (!fresh) break;
        live().replaceWith(fresh);
        if (head) document.getElementById("head").replaceWith(head);
        if (Number(fresh.dataset.version) < target) {
          // The page was rendered from an older snapshot than announced; try once more.
          await new Promise((done) => setTimeout(done, 200));
        }
      }
    } catch (_) {
      // The explorer went away; the stream below reconnects by itself when it is back.
    } finally {
      fetching = false;
    }
  }

  if (!window.EventSource) return;
  const updates = new EventSource("/api/updates");
  updates.onmessage = (event) => {
    wanted = Math.max(wanted, Number(event.data));
    refresh();
  };
})();
