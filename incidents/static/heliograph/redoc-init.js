/* Starts Redoc on the API documentation page (templates/api/redoc.html), right
 * after its bundle: see redoc-nonce.js. Redoc puts the nonce on the <style>
 * elements it writes from now on, so the Content-Security-Policy needs no
 * 'unsafe-inline'. */
(function () {
  "use strict";
  var setup = window.HeliographRedoc;
  setup.restore();
  var container = document.getElementById("redoc-container");
  window.Redoc.init(
    container.dataset.specUrl,
    { nonce: setup.nonce || undefined },
    container
  );
})();
