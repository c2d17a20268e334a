// Filter by state (the chips) and ticker text, sort by a column (click its header; again to
// reverse). The view lives in the URL (?state=, ?q=, ?sort=, ?order=), so a reload keeps it and
// the address can be shared; the server renders the same view on first load.
// Missing values sort last either way; ties keep the server's problems-first order.
(() => {
  const table = document.getElementById("fleet");
  const chips = Array.from(document.querySelectorAll("button[data-chip]"));
  const filter = document.getElementById("filter");
  const shown = document.getElementById("shown");
  const share = document.getElementById("share");
  const body = table ? table.tBodies[0] : null;
  const rows = body ? Array.from(body.rows) : [];
  const heads = table ? Array.from(table.tHead.rows[0].cells) : [];
  const params = new URLSearchParams(window.location.search);
  let wanted = new Set(params.getAll("state").filter((s) => s));
  let sortKey = table ? table.dataset.sort : "state";
  let ascending = table ? table.dataset.order !== "desc" : true;

  function writeUrl() {
    const next = new URLSearchParams();
    for (const s of wanted) next.append("state", s);
    const text = filter.value.trim();
    if (text) next.set("q", text);
    if (sortKey && sortKey !== "state") next.set("sort", sortKey);
    if (!ascending) next.set("order", "desc");
    const query = next.toString();
    const url = window.location.pathname + (query ? "?" + query : "");
    try {
      window.history.replaceState(null, "", url);
    } catch (e) {
      // a page opened from a file may refuse: the view still applies, only the URL stays
    }
    if (share) share.href = url;
  }

  function apply() {
    const text = filter.value.trim().toUpperCase();
    let count = 0;
    for (const row of rows) {
      const problems = row.dataset.problems.split(" ");
      const stateOk =
        wanted.size === 0 ||
        problems.some((p) => wanted.has(p)) ||
        (wanted.has("ok") && row.dataset.state === "ok");
      const keep = stateOk && (!text || row.dataset.ticker.includes(text));
      row.hidden = !keep;
      if (keep) count += 1;
    }
    shown.value = String(count);
    for (const chip of chips) {
      const s = chip.dataset.chip;
      chip.setAttribute("aria-pressed", String(s ? wanted.has(s) : wanted.size === 0));
    }
  }

  function sortBy(th, keepDirection) {
    const index = th.cellIndex;
    const numeric = th.dataset.type === "num";
    if (!keepDirection) ascending = th.dataset.col === sortKey ? !ascending : true;
    sortKey = th.dataset.col;
    const value = (row) => row.cells[index].dataset.v ?? "";
    const ordered = rows.slice().sort((a, b) => {
      const x = value(a);
      const y = value(b);
      if (x === "" || y === "") return (x === "") - (y === "");
      const c = numeric ? Number(x) - Number(y) : x.localeCompare(y);
      return ascending ? c : -c;
    });
    body.append(...ordered);
    for (const cell of heads) cell.removeAttribute("aria-sort");
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  for (const chip of chips) {
    chip.addEventListener("click", () => {
      const s = chip.dataset.chip;
      // one state at a time from a click (a shared URL may hold several); again: every state
      wanted = !s || (wanted.size === 1 && wanted.has(s)) ? new Set() : new Set([s]);
      apply();
      writeUrl();
    });
  }
  for (const th of heads) {
    th.querySelector("button").addEventListener("click", () => {
      sortBy(th, false);
      writeUrl();
    });
  }
  filter.addEventListener("input", () => {
    apply();
    writeUrl();
  });
  if (table) apply();
  writeUrl();
})();
