// Sort by a column (click its header; again to reverse) and filter by ticker and state.
// Missing values sort last either way; ties keep the server's problems-first order.
(() => {
  const table = document.getElementById("fleet");
  if (!table) return;
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const filter = document.getElementById("filter");
  const state = document.getElementById("state");
  const shown = document.getElementById("shown");
  let column = -1;
  let ascending = true;

  function apply() {
    const text = filter.value.trim().toUpperCase();
    const wanted = state.value;
    let count = 0;
    for (const row of rows) {
      const problems = row.dataset.problems.split(" ");
      const keep =
        (!text || row.dataset.ticker.includes(text)) &&
        (!wanted || (wanted === "ok" ? row.dataset.state === "ok" : problems.includes(wanted)));
      row.hidden = !keep;
      if (keep) count += 1;
    }
    shown.value = String(count);
  }

  function sortBy(th) {
    const index = th.cellIndex;
    const numeric = th.dataset.type === "num";
    ascending = index === column ? !ascending : true;
    column = index;
    const value = (row) => row.cells[index].dataset.v ?? "";
    const ordered = rows.slice().sort((a, b) => {
      const x = value(a);
      const y = value(b);
      if (x === "" || y === "") return (x === "") - (y === "");
      const c = numeric ? Number(x) - Number(y) : x.localeCompare(y);
      return ascending ? c : -c;
    });
    body.append(...ordered);
    for (const cell of th.parentElement.cells) cell.removeAttribute("aria-sort");
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  for (const th of table.tHead.rows[0].cells) {
    th.querySelector("button").addEventListener("click", () => sortBy(th));
  }
  filter.addEventListener("input", apply);
  state.addEventListener("change", apply);
  apply();
})();
