/* Loaded just before Redoc's bundle on the API documentation page
 * (templates/api/redoc.html), with the page's nonce on its tag.
 *
 * Redoc's bundle writes some of its styles into <style> elements while it loads,
 * before it can be told the nonce, and the Content-Security-Policy (no
 * 'unsafe-inline') would refuse them. While the bundle loads, every <style>
 * element made with document.createElement gets the nonce; redoc-init.js, which
 * runs right after the bundle, puts createElement back and starts Redoc with the
 * nonce for the styles it writes later. Markup never gets the nonce: a <style> in
 * parsed HTML is still refused. */
(function () {
  "use strict";
  var nonce = document.currentScript && document.currentScript.nonce;
  var createElement = document.createElement;
  document.createElement = function (name, options) {
    var element = createElement.call(document, name, options);
    if (nonce && String(name).toLowerCase() === "style") {
      element.nonce = nonce;
    }
    return element;
  };
  window.HeliographRedoc = {
    nonce: nonce,
    restore: function () {
      document.createElement = createElement;
    },
  };
})();
