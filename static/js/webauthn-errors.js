// allauth's WebAuthn forms report a failed key prompt (cancelled, timed out, a key this
// account does not know) only to the console; show it in the page's [data-webauthn-error]
// box, whose data attribute holds the message in the page's language.
(function () {
  document.addEventListener('allauth.error', function (event) {
    const box = document.querySelector('[data-webauthn-error]')
    if (!box) {
      return
    }
    event.preventDefault()
    box.textContent = box.dataset.webauthnError
    box.hidden = false
  })
})()
