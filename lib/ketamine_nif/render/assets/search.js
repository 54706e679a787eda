// Offline search for the HTML book: filters the text of every page
// (window.BOOK_SEARCH, written by the renderer into search-index.js); no network.
(function () {
  "use strict";
  var input = document.getElementById("search");
  var list = document.getElementById("search-results");
  var pages = window.BOOK_SEARCH || [];
  if (!input || !list) { return; }

  function item(href, title, snippet) {
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.href = href;
    a.textContent = title;
    li.appendChild(a);
    if (snippet) {
      var span = document.createElement("span");
      span.className = "snippet";
      span.textContent = snippet;
      li.appendChild(span);
    }
    return li;
  }

  function search() {
    var query = input.value.trim().toLowerCase();
    list.textContent = "";
    if (query.length < 2) { return; }
    var found = 0;
    pages.forEach(function (page) {
      var text = page.text.toLowerCase();
      var at = text.indexOf(query);
      if (at < 0) { return; }
      var hits = text.split(query).length - 1;
      var start = Math.max(0, at - 50);
      var snippet = (start > 0 ? "\u2026" : "") + page.text.slice(start, at + query.length + 50) + "\u2026";
      list.appendChild(item(page.href, page.title + " (" + hits + ")", snippet));
      found += 1;
    });
    if (!found) {
      var none = document.createElement("li");
      none.className = "none";
      none.textContent = "No page mentions \u201c" + input.value.trim() + "\u201d.";
      list.appendChild(none);
    }
  }

  input.addEventListener("input", search);
})();
