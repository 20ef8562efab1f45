# English: the words of the fake Microsoft's pages (sign-in, consent, errors), in the language the
# application asks for. Plain text only: the templates add the markup. Every key here must also be in it.ftl.

fake-tag = built-in fake
fake-foot = This is consent-portal's built-in fake of the Microsoft identity platform. No real account is used.
fake-sign-in-title = Sign in to your account
fake-pick-account = Pick an account
fake-continue-to = to continue to
fake-admin-needed = (an administrator's approval is needed)
fake-administrator = Administrator
fake-user = User
fake-permissions-requested = Permissions requested
fake-unverified = unverified
fake-app-would-like = This app would like to:
fake-consent-for-everyone = If you accept, this app will get access to the specified resources for all users in *{ $tenant }*. Nobody else will be prompted to review these permissions.
fake-application-id = Application id:
fake-cancel = Cancel
fake-accept = Accept
fake-use-another-account = Use another account
fake-trouble = Sorry, but we're having trouble signing you in.
fake-back-to-app = Back to the application
fake-troubleshooting = Troubleshooting details
fake-error-code = Error code
fake-request-id = Request Id
fake-correlation-id = Correlation Id
fake-timestamp = Timestamp
