// Search as you type: a knowledge-base search box with data-kb-suggest="<JSON URL>"
// lists matching articles under it (from /kb/search.json) while the reader types.
// Without JavaScript the box still submits to the search page.
(function () {
  "use strict";

  function attach(input) {
    var list = document.createElement("ul");
    list.className = "kb-typeahead";
    list.id = input.id + "-results";
    list.setAttribute("aria-live", "polite");
    input.setAttribute("aria-controls", list.id);
    input.closest("form").after(list);
    var timer = null;
    var latest = 0;

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var query = input.value.trim();
        var ticket = ++latest;
        if (query.length < 2) {
          list.replaceChildren();
          return;
        }
        fetch(input.dataset.kbSuggest + "?q=" + encodeURIComponent(query), {
          headers: { Accept: "application/json" },
        })
          .then(function (response) { return response.ok ? response.json() : { results: [] }; })
          .then(function (data) {
            if (ticket !== latest) return; // an older answer arriving late
            list.replaceChildren.apply(list, data.results.map(function (result) {
              var item = document.createElement("li");
              var link = document.createElement("a");
              link.href = result.url;
              link.textContent = result.title;
              link.lang = result.language;
              var snippet = document.createElement("p");
              snippet.className = "snippet small";
              snippet.innerHTML = result.snippet; // escaped by the server, <mark> added
              item.append(link, snippet);
              return item;
            }));
          });
      }, 250);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-kb-suggest]").forEach(attach);
  });
})();
