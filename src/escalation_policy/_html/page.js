// The audit page's script: the "who is late" table (sort, filter, open a timeline), the summary
// charts, and each escalation's timeline drawn as SVG when it is opened or scrolled into view.
// Every text the history or the policy wrote is set with textContent, never read as HTML.
(() => {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const legend = data.legend;
  const severities = legend.severities;
  const outcomes = legend.outcomes;
  const codes = legend.codes;
  const tips = new WeakMap();
  const number = new Intl.NumberFormat("en");

  // ------------------------------------------------------------------------------ helpers
  const element = (name, attributes, text) => {
    const made = document.createElement(name);
    for (const [key, value] of Object.entries(attributes || {})) made.setAttribute(key, value);
    if (text !== undefined) made.textContent = text;
    return made;
  };
  const svg = (name, attributes, text) => {
    const made = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes || {})) made.setAttribute(key, value);
    if (text !== undefined) made.textContent = text;
    return made;
  };
  const plural = (count, word) => `${number.format(count)} ${word}${count === 1 ? "" : "s"}`;

  // Shapes centred on 0,0 of about radius r: each violation code has one, and a colour.
  const SHAPES = {
    circle: (r) => `M${r},0A${r},${r} 0 1 1 ${-r},0A${r},${r} 0 1 1 ${r},0Z`,
    square: (r) => { const s = r * 0.9; return `M${-s},${-s}H${s}V${s}H${-s}Z`; },
    diamond: (r) => { const s = r * 1.25; return `M0,${-s}L${s},0L0,${s}L${-s},0Z`; },
    "triangle-up": (r) => `M0,${-r * 1.2}L${r * 1.15},${r * 0.85}L${-r * 1.15},${r * 0.85}Z`,
    "triangle-down": (r) => `M0,${r * 1.2}L${r * 1.15},${-r * 0.85}L${-r * 1.15},${-r * 0.85}Z`,
    star: (r) => {
      let path = "";
      for (let point = 0; point < 10; point++) {
        const radius = point % 2 ? r * 0.5 : r * 1.3;
        const angle = (Math.PI / 5) * point - Math.PI / 2;
        path += `${point ? "L" : "M"}${(radius * Math.cos(angle)).toFixed(2)},` +
          `${(radius * Math.sin(angle)).toFixed(2)}`;
      }
      return path + "Z";
    },
    plus: (r) => {
      const a = r * 0.4; const b = r * 1.2;
      return `M${-a},${-b}H${a}V${-a}H${b}V${a}H${a}V${b}H${-a}V${a}H${-b}V${-a}H${-a}Z`;
    },
    x: (r) => {
      const a = r * 0.3; const b = r * 0.95;
      return `M${-b},${-b + a}L${-b + a},${-b}L0,${-a}L${b - a},${-b}L${b},${-b + a}L${a},0` +
        `L${b},${b - a}L${b - a},${b}L0,${a}L${-b + a},${b}L${-b},${b - a}L${-a},0Z`;
    },
    hexagon: (r) => {
      let path = "";
      for (let point = 0; point < 6; point++) {
        const angle = (Math.PI / 3) * point;
        path += `${point ? "L" : "M"}${(r * 1.1 * Math.cos(angle)).toFixed(2)},` +
          `${(r * 1.1 * Math.sin(angle)).toFixed(2)}`;
      }
      return path + "Z";
    },
  };
  const MARKS = {
    owner: {shape: "diamond", colour: "#000000", label: "owner assigned"},
    involvement: {shape: "triangle-up", colour: "#777777", label: "involvement set"},
    fact: {shape: "circle", colour: "#444444", label: "fact"},
    reminder: {shape: "triangle-down", colour: "#0072B2", label: "reminder sent"},
  };
  const GLYPHS = {
    check: "M-4,0L-1,3L4,-4",
    x: "M-4,-4L4,4M-4,4L4,-4",
    bang: "M0,-5V1M0,3.2V4.8",
    arrow: "M-2,-4L3,0L-2,4",
    none: "",
  };
  const shape = (name, r, colour, attributes) => svg("path", {
    d: (SHAPES[name] || SHAPES.circle)(r), fill: colour, stroke: "#222", "stroke-width": 0.8,
    ...(attributes || {}),
  });
  const swatch = (draw) => {
    const made = svg("svg", {width: 18, height: 14, viewBox: "-9 -7 18 14", "aria-hidden": "true"});
    draw(made);
    return made;
  };

  // Fills of obligation bars: a pattern per outcome, so that outcomes differ without colour.
  const patterns = (defs, prefix) => {
    const fills = {};
    for (const outcome of outcomes) {
      const id = `${prefix}-${outcome.fill}`;
      if (outcome.fill === "solid") { fills[outcome.name] = outcome.colour; continue; }
      if (outcome.fill === "none") { fills[outcome.name] = "#f2f2f2"; continue; }
      const pattern = svg("pattern", {id, width: 6, height: 6, patternUnits: "userSpaceOnUse"});
      pattern.append(svg("rect", {width: 6, height: 6, fill: "#ffffff"}));
      const ink = {stroke: outcome.colour, "stroke-width": 1.6};
      if (outcome.fill === "stripes") {
        pattern.append(svg("path", {d: "M-1,7L7,-1M-1,1L1,-1M5,7L7,5", ...ink}));
      } else if (outcome.fill === "cross") {
        pattern.append(svg("path", {d: "M0,0L6,6M6,0L0,6", ...ink}));
      } else {
        pattern.append(svg("circle", {cx: 3, cy: 3, r: 1.4, fill: outcome.colour}));
      }
      defs.append(pattern);
      fills[outcome.name] = `url(#${id})`;
    }
    return fills;
  };
  const glyph = (outcome, x, y) => {
    const d = GLYPHS[outcome.glyph];
    if (!d) return null;
    const group = svg("g", {transform: `translate(${x},${y})`, "aria-hidden": "true"});
    group.append(svg("path", {d, fill: "none", stroke: "#ffffff", "stroke-width": 4,
      "stroke-linecap": "round", "stroke-linejoin": "round"}));
    group.append(svg("path", {d, fill: "none", stroke: outcome.glyph === "check" ? "#00664a" :
      outcome.colour, "stroke-width": 2, "stroke-linecap": "round", "stroke-linejoin": "round"}));
    return group;
  };

  // ------------------------------------------------------------------------------ tooltip
  // The tooltip comes after the timelines, which come after this script: found when needed.
  const showTip = (target, x, y) => {
    const items = tips.get(target);
    const tip = document.getElementById("tip");
    if (!items || !tip) return;
    tip.replaceChildren();
    items.forEach((lines, index) => {
      if (index) tip.append(document.createElement("hr"));
      tip.append(element("b", {}, lines[0]));
      tip.append(document.createTextNode(lines.slice(1).join("\n")));
    });
    tip.hidden = false;
    const width = tip.offsetWidth;
    const left = Math.min(x + 14, window.scrollX + document.documentElement.clientWidth - width - 8);
    tip.style.left = `${Math.max(window.scrollX + 4, left)}px`;
    tip.style.top = `${y + 14}px`;
  };
  const hideTip = () => {
    const tip = document.getElementById("tip");
    if (tip) tip.hidden = true;
  };
  document.addEventListener("pointerover", (event) => {
    const target = event.target.closest && event.target.closest("[data-tip]");
    if (target) showTip(target, event.pageX, event.pageY); else hideTip();
  });
  document.addEventListener("focusin", (event) => {
    const target = event.target.closest && event.target.closest("[data-tip]");
    if (!target) { hideTip(); return; }
    const box = target.getBoundingClientRect();
    showTip(target, box.right + window.scrollX, box.bottom + window.scrollY);
  });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") hideTip(); });
  const tipped = (node, items) => { node.setAttribute("data-tip", ""); tips.set(node, items); };

  // ---------------------------------------------------------------------------- the table
  // A row: [number, escalation, customer, owner, severity rank, violations, worst lateness in
  // seconds or null, worst lateness in words, in scope]; the rows come worst first.
  const rows = data.rows;
  const table = document.getElementById("late-table");
  const body = table.tBodies[0];
  const filter = document.getElementById("filter");
  const only = document.getElementById("only-violations");
  const status = document.getElementById("table-status");
  const more = document.getElementById("show-more");
  const FIRST = 200;
  const STEP = 1000;
  const severityLabel = (rank) => (rank < severities.length ? severities[rank].label : "-");
  const KEYS = {
    escalation: {value: (row) => row[1], text: true},
    customer: {value: (row) => row[2], text: true},
    owner: {value: (row) => row[3], text: true},
    severity: {value: (row) => severities.length - row[4], text: false},
    violations: {value: (row) => row[5], text: false},
    late: {value: (row) => row[6], text: false},
  };
  const collator = new Intl.Collator("en", {numeric: true, sensitivity: "base"});
  const haystacks = new Map();
  const haystack = (row) => {
    let found = haystacks.get(row);
    if (found === undefined) {
      found = [row[1], row[2], row[3], severityLabel(row[4])].join("\n").toLowerCase();
      haystacks.set(row, found);
    }
    return found;
  };
  let order = rows;
  let sorted = {key: "violations", direction: "descending"};
  let view = rows;
  let shown = FIRST;

  const sortBy = (key, direction) => {
    sorted = {key, direction};
    if (key === "violations" && direction === "descending") {
      order = rows; // worst first, as built
    } else {
      const {value, text} = KEYS[key];
      const sign = direction === "ascending" ? 1 : -1;
      order = rows.slice().sort((a, b) => {
        const left = value(a);
        const right = value(b);
        if (left === null || right === null) return (left === null) - (right === null);
        return sign * (text ? collator.compare(left, right) : left - right);
      });
    }
    for (const heading of table.tHead.rows[0].cells) {
      heading.setAttribute("aria-sort", heading.dataset.key === key ? direction : "none");
    }
    refresh(false);
  };

  const refresh = (reset) => {
    const needle = filter.value.trim().toLowerCase();
    const onlyLate = only.checked;
    view = !needle && !onlyLate ? order : order.filter(
      (row) => (!onlyLate || row[5] > 0) && (!needle || haystack(row).includes(needle)));
    if (reset) shown = FIRST;
    render();
  };

  const cell = (row, text, className) => {
    const made = element("td", className ? {class: className} : {}, text);
    row.append(made);
    return made;
  };
  const render = () => {
    const fragment = document.createDocumentFragment();
    const count = Math.min(shown, view.length);
    for (let index = 0; index < count; index++) {
      const row = view[index];
      const line = element("tr", {"data-escalation": row[1], "data-number": row[0]});
      const heading = element("th", {scope: "row"});
      heading.append(element("a", {href: `#esc-${row[0]}`}, row[1]));
      if (!row[8]) heading.append(" ", element("span", {class: "out-of-scope"}, "(out of scope)"));
      line.append(heading);
      cell(line, row[2]);
      cell(line, row[3]);
      cell(line, severityLabel(row[4]));
      cell(line, String(row[5]), row[5] ? "number late" : "number nil");
      cell(line, row[6] === null ? "-" : row[7], row[6] === null ? "number nil" : "number");
      fragment.append(line);
    }
    body.replaceChildren(fragment);
    let said = view.length === rows.length
      ? `${plural(rows.length, "escalation")}`
      : `${plural(view.length, "escalation")} of ${number.format(rows.length)} match`;
    if (count < view.length) said = `Showing ${number.format(count)} of ${said}`;
    const late = rows.filter((row) => row[5] > 0).length;
    said += `; ${number.format(late)} with violations`;
    if (data.unopened) said += `; ${plural(data.unopened, "violation")} about escalations never opened (in the summary)`;
    status.textContent = `${said}.`;
    const left = view.length - count;
    more.hidden = left <= 0;
    more.textContent = left <= STEP ? `Show the other ${number.format(left)}` : `Show ${number.format(STEP)} more (${number.format(left)} not shown)`;
  };

  for (const heading of table.tHead.rows[0].cells) {
    heading.querySelector("button").addEventListener("click", () => {
      const key = heading.dataset.key;
      const current = heading.getAttribute("aria-sort");
      let direction = KEYS[key].text ? "ascending" : "descending";
      if (current === "ascending") direction = "descending";
      else if (current === "descending") direction = "ascending";
      sortBy(key, direction);
    });
  }
  filter.addEventListener("input", () => refresh(true));
  only.addEventListener("change", () => refresh(true));
  more.addEventListener("click", () => { shown += STEP; render(); });
  body.addEventListener("click", (event) => {
    const line = event.target.closest("tr");
    if (!line) return;
    event.preventDefault();
    openEscalation(line.dataset.number, true);
  });

  const openEscalation = (which, focus) => {
    const section = document.getElementById(`esc-${which}`);
    if (!section) return;
    section.open = true;
    const chart = section.querySelector(".chart");
    if (chart) draw(chart);
    section.scrollIntoView({block: "start"});
    if (focus) section.querySelector("summary").focus({preventScroll: true});
    if (location.hash !== `#esc-${which}`) history.replaceState(null, "", `#esc-${which}`);
  };

  refresh(true);
  document.body.dataset.table = "ready";
  window.auditTableReadyAt = performance.now();

  // ------------------------------------------------------------------------ the summary
  const summaryCharts = document.getElementById("summary-charts");
  let width = 300;
  const figures = [];
  const figure = () => {
    const made = figures.shift();
    width = Math.max(240, Math.min(560, made.clientWidth));
    return made;
  };
  const clipped = (text, room) => (text.length > room ? `${text.slice(0, room - 3)}...` : text);
  const drawSummary = () => {
    summaryCharts.replaceChildren();
    for (const caption of ["Violations by code", "Violations by week",
      "Obligations due: on time or not"]) {
      const made = element("figure");
      made.append(element("figcaption", {}, caption));
      summaryCharts.append(made);
      figures.push(made);
    }
    const summary = data.summary;
    // Violations by code: a labelled bar each, with the code's shape.
    const byCode = codes.filter((code) => summary.codes[code.code]);
    const most = Math.max(1, ...byCode.map((code) => summary.codes[code.code]));
    const codeChart = figure();
    if (!byCode.length) codeChart.append(element("p", {class: "note"}, "No violations."));
    else {
      const rowHeight = 20;
      const labelWidth = Math.round(Math.min(190, width * 0.5));
      const chart = svg("svg", {width, height: byCode.length * rowHeight + 4, role: "img",
        "aria-label": byCode.map((code) => `${code.code}: ${summary.codes[code.code]}`).join(", ")});
      byCode.forEach((code, index) => {
        const y = index * rowHeight + 2;
        const count = summary.codes[code.code];
        const g = svg("g", {transform: `translate(0,${y})`, class: "mark"});
        g.append(shape(code.shape, 4.5, code.colour, {transform: "translate(7,9)"}));
        g.append(svg("text", {x: 16, y: 13}, clipped(code.code, Math.floor((labelWidth - 18) / 7))));
        const bar = Math.max(2, ((width - labelWidth - 50) * count) / most);
        g.append(svg("rect", {x: labelWidth, y: 3, width: bar, height: 13, fill: "#6a51a3"}));
        g.append(svg("text", {x: labelWidth + bar + 4, y: 13}, String(count)));
        tipped(g, [[code.code, `${plural(count, "violation")}`]]);
        chart.append(g);
      });
      codeChart.append(chart);
    }
    // Violations by ISO week of the time each was found.
    const weeks = Object.keys(summary.weeks);
    const weekChart = figure();
    if (!weeks.length) weekChart.append(element("p", {class: "note"}, "No violations."));
    else {
      const height = 150;
      const totals = weeks.map((week) => Object.values(summary.weeks[week]).reduce((a, b) => a + b, 0));
      const top = Math.max(1, ...totals);
      const slot = (width - 30) / weeks.length;
      const chart = svg("svg", {width, height: height + 34, role: "img",
        "aria-label": weeks.map((week, index) => `${week}: ${totals[index]}`).join(", ")});
      chart.append(svg("line", {x1: 28, x2: width, y1: height, y2: height, stroke: "#999"}));
      chart.append(svg("text", {x: 24, y: 18, "text-anchor": "end"}, String(top)));
      chart.append(svg("text", {x: 24, y: height, "text-anchor": "end"}, "0"));
      const every = Math.ceil(70 / slot);
      weeks.forEach((week, index) => {
        const x = 30 + index * slot;
        const barHeight = Math.max(1, ((height - 14) * totals[index]) / top);
        const g = svg("g", {class: "mark"});
        g.append(svg("rect", {x: x + slot * 0.12, y: height - barHeight, width: Math.max(1, slot * 0.76),
          height: barHeight, fill: "#6a51a3"}));
        if (slot > 24) {
          g.append(svg("text", {x: x + slot / 2, y: height - barHeight - 3, "text-anchor": "middle"},
            String(totals[index])));
        }
        if (index % every === 0) {
          chart.append(svg("text", {x: x + slot / 2, y: height + 14, "text-anchor": "middle"}, week));
        }
        const lines = Object.entries(summary.weeks[week]).map(([code, count]) => `${code}: ${count}`);
        tipped(g, [[`${week}: ${plural(totals[index], "violation")}`, ...lines]]);
        chart.append(g);
      });
      chart.append(svg("text", {x: 30 + (width - 30) / 2, y: height + 30, "text-anchor": "middle",
        class: "axis"}, "ISO week of the time each was found"));
      weekChart.append(chart);
    }
    // Each obligation's instances due: on time (solid, a tick) or not (cross hatched, a cross).
    const obligations = summary.obligations;
    const obligationChart = figure();
    const rowHeight = 22;
    const labelWidth = Math.round(Math.min(150, width * 0.36));
    const chart = svg("svg", {width, height: obligations.length * rowHeight + 24});
    const defs = svg("defs");
    chart.append(defs);
    const fills = patterns(defs, "summary");
    const onTime = outcomes[0];
    const missed = outcomes[2];
    const most2 = Math.max(1, ...obligations.map((item) => item[1]));
    obligations.forEach(([name, due, early], index) => {
      const y = index * rowHeight;
      const g = svg("g", {transform: `translate(0,${y})`, class: "mark"});
      g.append(svg("text", {x: 0, y: 14}, clipped(name, Math.floor((labelWidth - 4) / 7))));
      const scale = (width - labelWidth - 116) / most2;
      g.append(svg("rect", {x: labelWidth, y: 3, width: early * scale, height: 14, fill: fills[onTime.name]}));
      g.append(svg("rect", {x: labelWidth + early * scale, y: 3, width: (due - early) * scale, height: 14,
        fill: fills[missed.name], stroke: missed.colour, "stroke-width": due - early ? 1 : 0}));
      g.append(svg("text", {x: labelWidth + due * scale + 4, y: 14}, due ? `${early} of ${due} on time` : "none due"));
      tipped(g, [[name, `${early} on time`, `${due - early} late or missed`, `${due} due`]]);
      chart.append(g);
    });
    obligationChart.append(chart);
    const key = element("ul", {class: "legend"});
    for (const [outcome, text] of [[onTime, "on time"], [missed, "late or missed"]]) {
      const item = element("li");
      item.append(swatch((made) => {
        made.append(svg("rect", {x: -8, y: -5, width: 16, height: 10, fill: fills[outcome.name],
          stroke: outcome.colour}));
      }), text);
      key.append(item);
    }
    obligationChart.append(key);
  };
  drawSummary();

  // ------------------------------------------------------------------------- timelines
  const formats = new Map();
  const format = (zone, options) => {
    const key = `${zone}|${JSON.stringify(options)}`;
    let found = formats.get(key);
    if (!found) {
      found = new Intl.DateTimeFormat("en-GB", {timeZone: zone, ...options});
      formats.set(key, found);
    }
    return found;
  };
  const offsetOf = (zone, seconds) => {
    const parts = {};
    for (const part of format(zone, {hourCycle: "h23", year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"})
      .formatToParts(new Date(seconds * 1000))) parts[part.type] = part.value;
    const local = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour % 24,
      +parts.minute, +parts.second) / 1000;
    return local - seconds;
  };
  const STEPS = [600, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 345600, 604800,
    1209600, 2592000, 7776000, 31536000];

  // A timeline's texts are kept once for the page, in its table of texts, by position.
  let texts = null;
  const text = (value) => {
    if (typeof value !== "number") return value;
    if (!texts) texts = JSON.parse(document.getElementById("texts").textContent);
    return texts[value];
  };
  const read = (source) => {
    const t = JSON.parse(source);
    t.lanes = t.lanes.map(text);
    for (const band of t.bands) band[3] = band[3].map(text);
    for (const span of t.spans) span[5] = span[5].map(text);
    for (const mark of t.marks) { mark[3] = text(mark[3]); mark[4] = mark[4].map(text); }
    for (const one of t.violations) { one[2] = text(one[2]); one[3] = one[3].map(text); }
    return t;
  };
  const draw = (chart) => {
    if (!document.getElementById("texts")) return; // the page is still loading
    if (!chart.timeline) {
      chart.timeline = read(chart.nextElementSibling.textContent);
      resized.observe(chart);
    }
    const width = Math.max(280, Math.round(chart.clientWidth));
    if (chart.dataset.drawn && +chart.dataset.width === width) return;
    chart.replaceChildren(...timeline(chart.timeline, width, chart.closest("details")));
    chart.dataset.width = width;
    chart.dataset.drawn = "drawn";
    document.body.dataset.drawn = String(document.querySelectorAll(".chart[data-drawn]").length);
  };

  const timeline = (t, width, section) => {
    const id = section.id;
    const narrow = width < 560;
    const laneHeight = narrow ? 34 : 26;
    const inner = narrow ? 22 : 26;
    const labelWidth = narrow ? 0 : Math.round(Math.min(240, Math.max(130, width * 0.22)));
    const left = narrow ? 6 : labelWidth + 8;
    const right = width - 14;
    const top = 4;
    const lanes = t.lanes;
    const height = top + lanes.length * laneHeight + 40;
    const [x0, x1] = t.range;
    const scale = (right - left) / Math.max(1, x1 - x0);
    const X = (seconds) => left + (seconds - x0) * scale;
    const middle = (lane) => top + lane * laneHeight + (laneHeight - inner) + inner / 2;
    const name = section.dataset.escalation;
    const root = svg("svg", {width, height, role: "group",
      "aria-label": `Timeline of ${name}: ${plural(t.violations.length, "violation")}`});
    const defs = svg("defs");
    root.append(defs);
    const fills = patterns(defs, id);
    const colourOf = (index) => (index < severities.length ? severities[index].colour : "#dadaeb");
    const labelOf = (index) => (index < severities.length ? severities[index].label : "?");

    // The severity behind every lane, faintly; the lanes and their names.
    const plot = svg("g");
    root.append(plot);
    for (const [severity, start, end] of t.bands) {
      plot.append(svg("rect", {x: X(start), y: top, width: Math.max(0, X(end) - X(start)),
        height: lanes.length * laneHeight, fill: colourOf(severity), opacity: 0.07}));
    }
    lanes.forEach((lane, index) => {
      const y = top + index * laneHeight;
      plot.append(svg("line", {x1: narrow ? 0 : 0, x2: width, y1: y + laneHeight, y2: y + laneHeight,
        stroke: "#ececec"}));
      const room = Math.floor((narrow ? width - 12 : labelWidth - 6) / 6.1);
      const shown = lane.length > room ? `${lane.slice(0, Math.max(1, room - 3))}...` : lane;
      const text = svg("text", narrow ? {x: 4, y: y + 11, class: "lane-label"}
        : {x: 4, y: middle(index) + 4, class: "lane-label"}, shown);
      if (shown !== lane) text.append(svg("title", {}, lane));
      plot.append(text);
    });

    // The time axis, in the escalation's zone.
    const axis = svg("g", {class: "axis"});
    const bottom = top + lanes.length * laneHeight;
    axis.append(svg("line", {x1: left, x2: right, y1: bottom, y2: bottom, stroke: "#888"}));
    const span = x1 - x0;
    const most = Math.max(2, Math.floor((right - left) / (narrow ? 72 : 96)));
    const step = STEPS.find((candidate) => span / candidate <= most) || STEPS[STEPS.length - 1];
    const offset = offsetOf(t.zone, t.t0 + x0);
    const first = Math.ceil((t.t0 + x0 + offset) / step) * step - offset - t.t0;
    const day = format(t.zone, {month: "short", day: "numeric"});
    const hour = format(t.zone, {hour: "2-digit", minute: "2-digit", hourCycle: "h23"});
    let lastDay = "";
    for (let tick = first; tick <= x1; tick += step) {
      const x = X(tick);
      if (x < left - 0.5) continue;
      const when = new Date((t.t0 + tick) * 1000);
      const date = day.format(when);
      let label = date;
      if (step < 86400) label = date === lastDay ? hour.format(when) : `${date} ${hour.format(when)}`;
      lastDay = date;
      axis.append(svg("line", {x1: x, x2: x, y1: top, y2: bottom + 4, stroke: "#000",
        "stroke-opacity": 0.08}));
      axis.append(svg("text", {x, y: bottom + 16, "text-anchor": "middle"}, label));
    }
    axis.append(svg("text", {x: (left + right) / 2, y: bottom + 33, "text-anchor": "middle"},
      `time (${t.zone})`));
    root.append(axis);

    // Severity bands, labelled where they are wide enough.
    const severityLane = svg("g");
    for (const [severity, start, end, hover] of t.bands) {
      const x = X(start);
      const w = Math.max(1, X(end) - x);
      const g = svg("g", {class: "mark"});
      g.append(svg("rect", {x, y: middle(0) - 8, width: w, height: 16, fill: colourOf(severity)}));
      const label = labelOf(severity);
      if (w > label.length * 6 + 8) {
        g.append(svg("text", {x: x + 4, y: middle(0) + 4,
          class: severity < 2 ? "band-label on-dark" : "band-label"}, label));
      }
      tipped(g, [hover]);
      severityLane.append(g);
    }
    root.append(severityLane);

    // Obligations: a bar from expected to due, filled by outcome, a glyph where it settled.
    const bars = svg("g");
    for (const [lane, outcomeIndex, created, due, settled, hover] of t.spans) {
      const outcome = outcomes[outcomeIndex];
      const x = X(created);
      const w = Math.max(2, X(due) - x);
      const y = middle(lane);
      const g = svg("g", {class: "mark", "data-outcome": outcome.name});
      g.append(svg("rect", {x, y: y - 6, width: w, height: 12, fill: fills[outcome.name],
        stroke: outcome.fill === "none" ? "#777777" : outcome.colour, "stroke-width": 1,
        "stroke-dasharray": outcome.fill === "none" ? "3 2" : "none"}));
      const at = outcome.glyph === "x" || outcome.glyph === "arrow" || settled === null ? due : settled;
      const mark = glyph(outcome, Math.min(right + 6, X(at)), y);
      if (mark) g.append(mark);
      tipped(g, [hover]);
      bars.append(g);
    }
    root.append(bars);

    // Marks, stacked where they fall at the same place: up to three side by side in the lane,
    // more as the first with a count. Each keeps its own hover.
    const marks = t.marks.map(([lane, kind, at, title, hover]) => ({lane, x: X(at), kind, title,
      hover}));
    const violations = t.violations.map(([code, at, rule, hover], index) => ({lane: lanes.length - 1,
      x: X(at), kind: "violation", code, rule, hover, index}));
    const layer = svg("g");
    root.append(layer);
    const byLane = new Map();
    for (const item of [...marks, ...violations]) {
      if (!byLane.has(item.lane)) byLane.set(item.lane, []);
      byLane.get(item.lane).push(item);
    }
    for (const [lane, items] of byLane) {
      items.sort((a, b) => a.x - b.x);
      const groups = [];
      for (const item of items) {
        const last = groups[groups.length - 1];
        if (last && item.x - last[0].x < 7) last.push(item); else groups.push([item]);
      }
      for (const group of groups) {
        const y = middle(lane);
        // Up to three apart; more: one mark a kind (a violation code) with its count.
        let parts = group.map((item) => [item]);
        if (group.length > 3) {
          const byKind = new Map();
          for (const item of group) {
            const kind = item.kind === "violation" ? `v${item.code}` : item.kind;
            if (!byKind.has(kind)) byKind.set(kind, []);
            byKind.get(kind).push(item);
          }
          parts = [...byKind.values()];
          if (parts.length > 3) parts = [parts[0], parts[1], parts.slice(2).flat()];
        }
        const offsets = [[0], [-5, 5], [-7, 0, 7]][parts.length - 1];
        const small = parts.length > 1;
        parts.forEach((part, index) => {
          const item = part[0];
          const g = svg("g", {class: "mark",
            transform: `translate(${item.x.toFixed(1)},${y + offsets[index]})`});
          if (item.kind === "violation") {
            const code = codes[item.code] || codes[0];
            g.append(shape(code.shape, small ? 4 : 5.5, code.colour));
            g.setAttribute("tabindex", "0");
            g.setAttribute("role", "img");
            g.setAttribute("data-violations", part.map((one) => one.index).join(" "));
            g.setAttribute("aria-label", part.map((one) => one.hover.slice(0, 2).join(" ")).join("; "));
          } else {
            const style = MARKS[item.kind];
            g.append(shape(style.shape, small ? 3.5 : 4.5, style.colour));
            if (item.title && part.length === 1) g.append(svg("text", {x: 8, y: 4}, item.title));
          }
          if (part.length > 1) {
            g.append(svg("text", {x: 7, y: 4, class: "count"}, `\u00d7${part.length}`));
          }
          tipped(g, part.map((one) => one.hover));
          layer.append(g);
        });
      }
    }

    // The key to what this timeline shows, and its violations as text.
    const key = element("ul", {class: "legend", "aria-label": "Key"});
    const used = new Set(t.spans.map((item) => item[1]));
    for (const [index, outcome] of outcomes.entries()) {
      if (!used.has(index)) continue;
      const item = element("li");
      item.append(swatch((made) => {
        made.append(svg("rect", {x: -8, y: -5, width: 16, height: 10, fill: fills[outcome.name],
          stroke: outcome.fill === "none" ? "#777" : outcome.colour}));
        const mark = glyph(outcome, 4, 0);
        if (mark) made.append(mark);
      }), outcome.name);
      key.append(item);
    }
    const kinds = new Set(t.marks.map((item) => item[1]));
    for (const kind of ["owner", "involvement", "fact", "reminder"]) {
      if (!kinds.has(kind)) continue;
      const item = element("li");
      item.append(swatch((made) => made.append(shape(MARKS[kind].shape, 4.5, MARKS[kind].colour))),
        MARKS[kind].label);
      key.append(item);
    }
    const found = [...new Set(t.violations.map((item) => item[0]))].sort((a, b) => a - b);
    for (const index of found) {
      const code = codes[index];
      const item = element("li");
      item.append(swatch((made) => made.append(shape(code.shape, 5, code.colour))), code.code);
      key.append(item);
    }
    const parts = [root, key];
    if (t.violations.length) {
      const list = element("table", {class: "violation-list"});
      list.append(element("caption", {}, `Violations of ${name}`));
      const head = element("tr");
      for (const title of ["found", "code", "what happened", "rule"]) {
        head.append(element("th", {scope: "col"}, title));
      }
      const thead = element("thead");
      thead.append(head);
      list.append(thead);
      const rowsOf = element("tbody");
      for (const [code, , rule, hover] of t.violations) {
        const line = element("tr");
        line.append(element("td", {}, hover[1].replace(/^at /, "")));
        const codeCell = element("td", {class: "code"});
        codeCell.append(swatch((made) => made.append(shape(codes[code].shape, 4.5, codes[code].colour))),
          ` ${hover[0]}`);
        line.append(codeCell);
        line.append(element("td", {}, hover[hover.length - 1]));
        line.append(element("td", {}, rule));
        rowsOf.append(line);
      }
      list.append(rowsOf);
      parts.push(list);
    }
    return parts;
  };

  // Drawn when scrolled into view (a closed escalation is out of view until it is opened), and
  // drawn again when its width changes.
  const pending = new Set();
  const resized = new ResizeObserver((entries) => {
    for (const entry of entries) pending.add(entry.target);
    requestAnimationFrame(() => {
      for (const chart of pending) if (chart.dataset.drawn) draw(chart);
      pending.clear();
    });
  });
  const seen = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      seen.unobserve(entry.target);
      draw(entry.target);
    }
  }, {rootMargin: "400px 0px"});

  let summaryWidth = summaryCharts.clientWidth;
  new ResizeObserver(() => {
    if (summaryCharts.clientWidth !== summaryWidth) {
      summaryWidth = summaryCharts.clientWidth;
      drawSummary();
    }
  }).observe(summaryCharts);

  const start = () => {
    for (const chart of document.querySelectorAll("details.escalation > .chart")) seen.observe(chart);
    const wanted = /^#esc-(\d+)$/.exec(location.hash);
    if (wanted) openEscalation(wanted[1], false);
  };
  window.addEventListener("hashchange", () => {
    const wanted = /^#esc-(\d+)$/.exec(location.hash);
    if (wanted) openEscalation(wanted[1], false);
  });
  // Printing draws the timelines of the open escalations first.
  window.addEventListener("beforeprint", () => {
    for (const chart of document.querySelectorAll("details.escalation[open] > .chart")) draw(chart);
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
