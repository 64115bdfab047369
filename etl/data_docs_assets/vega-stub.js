/* Local stand-in for vega, vega-lite and vega-embed (the Data Docs work offline, decision 0071).
   The rulebook's expectations draw no charts; a chart, if one appears, is replaced by a note. */
window.vegaEmbed = function (selector) {
  var target = document.querySelector(selector);
  if (target) { target.textContent = "(chart not shown offline / biểu đồ không hiển thị khi ngoại tuyến)"; }
  return Promise.resolve({});
};
