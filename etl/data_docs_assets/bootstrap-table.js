/* A minimal local stand-in for bootstrap-table (the Data Docs work offline, decision 0071):
   $(table).bootstrapTable({columns, data, rowAttributes, ...}) renders a plain sortable table.
   Methods called by name (clearFilterControl, resetSearch) do nothing. */
(function ($) {
  "use strict";
  function cell(value) { return value === undefined || value === null ? "" : String(value); }
  $.fn.bootstrapTable = function (options) {
    if (typeof options === "string") { return this; }
    options = options || {};
    return this.each(function () {
      var $table = $(this).addClass("table table-sm table-hover");
      var columns = (options.columns || []).filter(function (c) { return c.visible !== false; });
      var data = options.data || [];
      var $thead = $("<thead>"), $tr = $("<tr>");
      columns.forEach(function (column, index) {
        var $th = $("<th>").html(cell(column.title !== undefined ? column.title : column.field));
        if (column.sortable) {
          $th.css("cursor", "pointer").on("click", function () {
            var ascending = !$th.data("ascending");
            $th.data("ascending", ascending);
            var rows = $tbody.children("tr").get();
            rows.sort(function (a, b) {
              var x = $(a).children().eq(index).text(), y = $(b).children().eq(index).text();
              return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
            });
            $tbody.append(rows);
          });
        }
        $tr.append($th);
      });
      $thead.append($tr);
      var $tbody = $("<tbody>");
      var rowAttributes = options.rowAttributes;
      if (typeof rowAttributes === "string") { rowAttributes = window[rowAttributes]; }
      data.forEach(function (row, rowIndex) {
        var $row = $("<tr>");
        if (typeof rowAttributes === "function") {
          var attributes = rowAttributes(row, rowIndex) || {};
          Object.keys(attributes).forEach(function (name) { $row.attr(name, attributes[name]); });
          if (attributes["data-href"]) {
            $row.css("cursor", "pointer").on("click", function () { window.location = attributes["data-href"]; });
          }
        }
        columns.forEach(function (column) { $row.append($("<td>").html(cell(row[column.field]))); });
        $tbody.append($row);
      });
      $table.empty().append($thead).append($tbody);
    });
  };
})(window.jQuery);
