# English: the words customers read on the portal's pages and in its e-mails.
# Plain text only (no markup): the templates add the markup. Every key here must also be in it.ftl.

## Shared by every customer page

portal-name = Consent portal
language-switch-label = Language
skip-to-content = Skip to content

## Dates

date-long = { $day } { $month } { $year }
date-time = { $date }, { $time } UTC
month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December

## The landing page of an invitation

landing-title = Connect { $customer } to { $partner }
landing-eyebrow = Onboarding for { $customer }
landing-heading = Connect your Microsoft 365 Defender to { $partner }
landing-intro = { $partner } asks an administrator of *{ $customer }* to approve its application in your Microsoft tenant, so that it can work with your Microsoft 365 Defender data.
landing-already-connected = This invitation already connected the tenant *{ $tenant }*. An administrator of that tenant can approve again, for instance after the application asked for new permissions; another tenant needs a new link from { $partner }.
landing-permissions-heading = What the application will be able to do
landing-one-approval = One approval covers every API listed: Microsoft's page asks for all of them at once.
landing-permissions-note = These are application permissions: the application uses them itself, without a signed-in user. Nothing else in your tenant is granted.
landing-reconsent-intro = { $partner } already works with *{ $customer }*. Its application now needs more permissions: an administrator of your tenant approves them once more, and what was granted before stays as it is.
landing-reconsent-new-heading = { $partner } now also asks for
landing-reconsent-kept-heading = Already granted (nothing changes for these)
landing-who-heading = Who can approve
landing-who = Someone with one of these roles in your Microsoft Entra ID: { $roles }.
landing-pinned = This invitation is for the tenant *{ $tenant }*: sign in with an account of that tenant.
landing-steps-heading = The steps
landing-step-sign-in-and-consent = Sign in with Microsoft and review the permissions on Microsoft's page, then choose *Accept*.
landing-step-sign-in = Sign in with Microsoft: this tells us which tenant is yours.
landing-step-consent = Review the permissions on Microsoft's page and choose *Accept*.
landing-step-return = You come back here and see what was granted.
landing-continue = Continue with Microsoft
landing-revoke-heading = Changing your mind later
landing-revoke = You can remove the access at any time: in the Microsoft Entra admin center, open *Enterprise applications*, find the application of { $partner }, open *Properties* and choose *Delete*.

## Application permissions in plain words, under the API that defines them

api-graph = Microsoft Graph
api-defender = Microsoft Defender XDR API
api-mde = Microsoft Defender for Endpoint API
role-securityincident-read-all = Read your security incidents and their alerts
role-securityincident-readwrite-all = Read and update your security incidents
role-securityalert-read-all = Read your security alerts
role-securityalert-readwrite-all = Read and update your security alerts
role-threathunting-read-all = Run advanced hunting queries over your security data
role-incident-read-all = Read your security incidents and their alerts
role-incident-readwrite-all = Read and update your security incidents
role-advancedhunting-read-all = Run advanced hunting queries over your security data
role-alert-read-all = Read your security alerts
role-alert-readwrite-all = Read and update your security alerts
role-machine-read-all = Read the list of your devices and their details
role-advancedquery-read-all = Run advanced queries over the security data of your devices
role-vulnerability-read-all = Read the vulnerabilities found on your devices
role-other = An application permission on Microsoft 365 Defender
admin-roles = Global Administrator, Privileged Role Administrator, Cloud Application Administrator or Application Administrator

## The result page after the approval

result-title = Connected: { $tenant }
result-heading = Connected:
result-all-set = Everything is in place: the application has every permission it needs.
result-granted = Granted
result-still-to-appear = Still to appear
result-none-yet = none yet
result-nothing = nothing
result-propagating = Microsoft often takes a few minutes (sometimes up to an hour) to make newly granted permissions visible. You do not need to do anything: { $partner } keeps checking and will see them as soon as they appear.
result-receipt-heading = Consent receipt
result-approved-by = Approved by
result-when = When
result-application = Application
result-application-id = { $partner }, application id
result-tenant = Tenant
result-permissions = Permissions
result-revoke-heading = How to revoke it
result-revoke = In the Microsoft Entra admin center, open *Enterprise applications*, search for the application id { $client_id }, open *Properties* and choose *Delete*. { $partner } will see the access disappear at its next check.

## Tenant status, as the result page shows it

status-verified = Verified
status-unproven = Permissions granted
status-propagating = Waiting for Microsoft
status-missing-roles = Missing roles
status-never-checked = Not checked yet
status-problem = Needs attention

## Problem pages

problem-what-to-do = What to do:
problem-try-again = Try again
problem-code = Code
problem-trace-id = Trace ID
wrong-tenant-title = This invitation is for another tenant
wrong-tenant-signed-in = You signed in as *{ $user }*, in the tenant { $tenant }.
wrong-tenant-expected = This invitation is for *{ $expected }*.
wrong-tenant-nothing = Nothing was connected. Sign in again with an administrator account of { $expected }.
wrong-tenant-sign-in-again = Sign in again
already-used-title = This invitation was already used
already-used-signed-in = You signed in as *{ $user }*, in the tenant { $tenant }.
already-used = This link was already used for the tenant *{ $tenant }*, and each link connects one tenant only.
already-used-what-to-do = Nothing was connected. Ask { $partner } for a new link for your tenant.
already-used-same-tenant = If you meant to approve again for { $tenant }, sign in with an administrator account of that tenant.

## Why a step was refused

refused-start-over = Open the link from your onboarding email again to start over.
refused-request-title = This request was refused
refused-request = The form was not sent from this portal's page, or it is too old.
refused-session-title = Your session has ended
refused-session = This browser has no onboarding in progress.
refused-approval-title = This approval was refused
refused-approval-unknown = The answer from Microsoft does not carry a request this portal made.
refused-approval-elsewhere = The approval was started in another browser session, or for another invitation.
refused-approval-tenant = The tenant in the answer is not the one you signed in to.
refused-used-title = This approval was already used
refused-used = Each approval link works once.
refused-slow-title = This approval took too long
refused-slow = For your security, the approval must finish within 15 minutes.
refused-unverified-title = Your approval could not be verified
refused-unverified = The answer from Microsoft did not pass the portal's checks, so it was not used.
refused-sign-in-title = Your sign-in could not be verified
refused-sign-in = The answer from Microsoft did not pass the portal's checks, so nobody was signed in.
refused-answer-title = The answer from Microsoft is incomplete
refused-answer = Part of the answer from Microsoft is missing or not valid, so nothing was connected.
not-found-title = This link is not valid
not-found = There is no onboarding invitation at this address.
not-found-what-to-do = Check that you opened the whole link from your onboarding email, or ask your contact for a new one.
gone-title = This invitation is no longer valid
gone = The onboarding link has expired or was withdrawn.
gone-what-to-do = Ask for a new link:
conflict-title = This tenant is already connected
conflict = Your Microsoft tenant is already connected for another customer account, so it was not connected again.
conflict-what-to-do = Nothing was changed. Please contact your service provider: they have been notified.

## What Microsoft's errors mean (AADSTS codes)

aadsts-declined-title = The approval was declined
aadsts-declined-what = The administrator declined to grant the permissions, so nothing was connected.
aadsts-declined-do = If this was a mistake, start again and choose Accept on Microsoft's page.
aadsts-not-admin-title = An administrator needs to approve this
aadsts-not-admin-what = The account you signed in with cannot approve application permissions for your organization.
aadsts-not-admin-do = Ask someone with the Global Administrator, Privileged Role Administrator, Cloud Application Administrator or Application Administrator role to open this link, or sign in again with such an account.
aadsts-other-org-title = This account belongs to another organization
aadsts-other-org-what = The account you signed in with is a guest or belongs to a different Microsoft Entra tenant.
aadsts-other-org-do = Sign in again with an administrator account of your own organization's tenant.
aadsts-redirect-title = The portal is not set up correctly
aadsts-redirect-what = Microsoft refused to send you back to this portal because its address is not registered on the application.
aadsts-redirect-do = Nothing is wrong on your side: please tell your service provider, who needs to register the portal's address.
aadsts-incomplete-title = The request to Microsoft was incomplete
aadsts-incomplete-what = Microsoft refused the request because a required part of it was missing or not valid.
aadsts-incomplete-do = Please tell your service provider; trying again will not help until they fix it.
aadsts-app-missing-title = The application is not in your tenant
aadsts-app-missing-what = Microsoft could not find the application in your organization: the approval may not have completed, or it was removed.
aadsts-app-missing-do = Start again and approve the application. If you removed it on purpose, tell your service provider.
aadsts-app-disabled-title = The application is disabled in your tenant
aadsts-app-disabled-what = An administrator of your organization disabled the application, so it cannot sign in.
aadsts-app-disabled-do = In the Microsoft Entra admin center, open Enterprise applications, find the application, and set "Enabled for users to sign in" to Yes.
aadsts-tenant-unknown-title = Microsoft did not recognise the tenant
aadsts-tenant-unknown-what = The tenant this link is for could not be found at Microsoft.
aadsts-tenant-unknown-do = Check that you are signing in to the right organization, or ask your service provider for a new link.
aadsts-credentials-title = The application's credentials were refused
aadsts-credentials-what = Microsoft refused the application's own credentials; this is a problem on your service provider's side.
aadsts-credentials-do = Your approval is recorded. Please tell your service provider, who needs to renew the application's credentials.
aadsts-no-defender-title = Microsoft 365 Defender is not set up in your tenant
aadsts-no-defender-what = Your tenant has no Microsoft 365 Defender service, so the application cannot be given access to it.
aadsts-no-defender-do = Check that your organization has Microsoft 365 Defender, then try again.
aadsts-general-title = Microsoft could not complete the request
aadsts-general-what = Something went wrong at Microsoft while connecting your tenant.
aadsts-general-do = Please try again. If it keeps happening, tell your service provider and quote the code below.
aadsts-cancelled-title = You cancelled the approval
aadsts-cancelled-what = Nothing was connected and nothing was changed in your tenant.
aadsts-cancelled-do = When you are ready, start again from the link you received.

## Error pages

error-eyebrow = Error { $status }
error-reference = Reference for support:
error-400-title = Bad request
error-400 = The request could not be understood.
error-401-title = Sign-in needed
error-401 = You need to sign in to see this page.
error-403-title = Not allowed
error-403 = You are not allowed to do this.
error-404-title = Page not found
error-404 = There is nothing at this address. Check the link, or start again from the email you received.
error-405-title = Not allowed
error-405 = This address does not accept that kind of request.
error-408-title = Too slow
error-408 = The request took too long to arrive. Please try again.
error-413-title = Too much data
error-413 = The request carried more data than this portal accepts.
error-414-title = Address too long
error-414 = The address is longer than this portal accepts.
error-415-title = Unsupported content
error-415 = The request carried content of a kind this portal does not accept.
error-422-title = Invalid input
error-422 = Some of the information sent is not valid.
error-429-title = Too many requests
error-429 = Too many requests from your address. Please wait a minute and try again.
error-431-title = Request too large
error-431 = The request headers are larger than this portal accepts. Clearing this site's cookies may help.
error-503-title = Temporarily unavailable
error-503 = The portal cannot complete this right now. Nothing was lost; please try again in a few minutes.
error-504-title = Timed out
error-504 = The portal took too long to answer. Please try again.
error-4xx-title = Request refused
error-4xx = This request cannot be handled.
error-500-title = Something went wrong
error-500 = Something went wrong on our side. It has been logged; please try again later.
error-409-title = Already done elsewhere
error-410-title = No longer valid

## Sign-in steps that were refused

refused-no-sign-in-title = No sign-in in progress
refused-no-sign-in = This browser did not start a sign-in here, or the session has ended.
refused-sign-in-done = This sign-in was already completed or was never started here.
refused-sign-in-state-title = This sign-in was refused
refused-sign-in-state = The answer from Microsoft does not belong to the sign-in this browser started.
refused-sign-in-slow-title = This sign-in took too long
refused-sign-in-slow = For your security, a sign-in must finish within 15 minutes.

## The front page, for someone who arrives without a link

home-title = Welcome
home-heading = Customer onboarding for Microsoft 365 Defender
home-intro = This portal connects customer tenants to our Microsoft Entra ID application, so that we can work with your Microsoft 365 Defender data on your behalf. It records exactly which tenant consented, who approved it and when, and keeps checking that the access still works.
home-link = If you were sent an onboarding link, please open that link: it takes you through the two steps (sign in with Microsoft, then approve the application).
home-staff-sign-in = Partner staff: sign in to the dashboard
home-asks-heading = What the application asks for

## E-mails

email-subject = { $partner }: connect { $customer } to Microsoft 365 Defender monitoring
email-reminder-subject = Reminder — { $partner }: connect { $customer } to Microsoft 365 Defender monitoring
email-heading = Connect { $customer } to { $partner }
email-greeting = Hello,
email-intro = { $partner } asks an administrator of { $customer } to approve its application in your Microsoft tenant.
email-reminder-intro = A reminder: { $partner } is still waiting for an administrator of { $customer } to approve its application in your Microsoft tenant.
email-why = With this approval { $partner } can read your Microsoft 365 Defender security data, to monitor your incidents and alerts as part of its service. Nothing else in your tenant is granted, and you can withdraw the approval at any time.
email-permissions-heading = What the application will be able to do:
email-one-approval = One approval covers every API listed.
email-who = Who can approve: someone with one of these roles in your Microsoft Entra ID: { $roles }. If that is not you, please forward this e-mail to them.
email-link-intro = The link opens a page that explains each step before anything happens:
email-action = Open the onboarding page
email-expires = The link works until { $date }.
email-contact = Questions? Contact { $partner }: { $contact }
email-contact-reply = Questions? Reply to this e-mail to reach { $partner }.
email-footer = You receive this e-mail because { $partner } invited { $customer } to connect its Microsoft tenant. If you were not expecting it, you can ignore it: nothing changes until an administrator approves.
email-reconsent-subject = { $partner } asks { $customer } to approve new permissions
email-reconsent-reminder-subject = Reminder — { $partner } asks { $customer } to approve new permissions
email-reconsent-heading = { $partner } needs a new approval from { $customer }
email-reconsent-intro = { $partner } connected { $customer } some time ago. Its application now needs more permissions, and an administrator of { $customer } must approve them once more in your Microsoft tenant.
email-reconsent-reminder-intro = A reminder: { $partner } is still waiting for an administrator of { $customer } to approve the new permissions of its application.
email-reconsent-new-heading = { $partner } now also asks for:
email-reconsent-kept-heading = Already granted (nothing changes for these):
