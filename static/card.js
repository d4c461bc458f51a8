// The card form of a pay page (templates/payments/_card_form.html): Stripe.js collects the card, the
// payment is started (or the open one resumed) by posting the form (with the JSON of its data-body, if any),
// then confirmed. What it says comes from the form's data- attributes, in the page's language.
(function () {
  var form = document.getElementById("card-form");
  var says = form.dataset;
  var unavailable = document.getElementById("card-unavailable");
  if (typeof Stripe !== "function") {
    unavailable.textContent = says.unavailable;
    unavailable.hidden = false;
    return;
  }
  var stripe = Stripe(says.key, {locale: says.locale});
  var elements = stripe.elements({locale: says.locale});
  var card = elements.create("card", {hidePostalCode: true});
  var button = document.getElementById("card-button");
  var message = document.getElementById("card-message");
  card.mount("#card-element");
  form.hidden = false;
  var retry = false;
  function fail(text) {
    message.textContent = text || says.failed;
    button.disabled = false;
  }
  function done() {
    form.hidden = true;
    document.getElementById("card-done").hidden = false;
  }
  function paymentMethod() {
    // Stripe.js makes a PaymentMethod from the card; a Stripe.js without one gives a card token instead.
    var made = stripe.createPaymentMethod ? stripe.createPaymentMethod({type: "card", card: card}) : null;
    return Promise.resolve(made).then(function (result) {
      if (result && result.paymentMethod) return result.paymentMethod.id;
      if (result && result.error) throw result.error;
      return stripe.createToken(card).then(function (tokenResult) {
        if (tokenResult.error || !tokenResult.token) throw tokenResult.error || {};
        return tokenResult.token.card.id;
      });
    });
  }
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
                       headers: {"Content-Type": "application/json", "Accept": "application/json"},
                       body: JSON.stringify(body || {})}).then(function (response) {
      return response.json().then(function (answer) { return {ok: response.ok, code: response.status, body: answer}; });
    });
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (retry) { window.location.reload(); return; }
    button.disabled = true;
    message.textContent = says.working;
    // The payment is started (or the open one resumed) first: a second tap never makes a second charge.
    post(form.action, says.body ? JSON.parse(says.body) : {}).then(function (started) {
      if (!started.ok) throw {message: started.body && started.body.message};
      return paymentMethod();
    }).then(function (method) {
      return post(says.confirm, {payment_method: method});
    }).then(function (answer) {
      if (!answer.ok) {
        if (answer.code === 402) { retry = true; button.textContent = says.again; }
        return fail(answer.body && answer.body.message);
      }
      if (answer.body.status === "requires_action") {
        return stripe.confirmCardPayment(answer.body.client_secret).then(function (result) {
          var intent = result.paymentIntent;
          if (result.error || !intent || ["succeeded", "processing"].indexOf(intent.status) < 0) {
            return fail(result.error && result.error.message);
          }
          done();
        });
      }
      done();
    }).catch(function (error) { fail(error && error.message); });
  });
})();
