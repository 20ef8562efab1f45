# Italiano: le parole che i clienti leggono nelle pagine del portale e nelle sue e-mail.
# Solo testo (niente markup): il markup lo aggiungono i template. Ogni chiave di en.ftl deve essere anche qui.

## Comuni a ogni pagina per i clienti

portal-name = Portale dei consensi
language-switch-label = Lingua
skip-to-content = Vai al contenuto

## Date

date-long = { $day } { $month } { $year }
date-time = { $date }, ore { $time } UTC
month-1 = gennaio
month-2 = febbraio
month-3 = marzo
month-4 = aprile
month-5 = maggio
month-6 = giugno
month-7 = luglio
month-8 = agosto
month-9 = settembre
month-10 = ottobre
month-11 = novembre
month-12 = dicembre

## La pagina iniziale di un invito

landing-title = Collega { $customer } a { $partner }
landing-eyebrow = Attivazione per { $customer }
landing-heading = Collega il tuo Microsoft 365 Defender a { $partner }
landing-intro = { $partner } chiede a un amministratore di *{ $customer }* di approvare la sua applicazione nel vostro tenant Microsoft, così da poter lavorare con i vostri dati di Microsoft 365 Defender.
landing-already-connected = Questo invito ha già collegato il tenant *{ $tenant }*. Un amministratore di quel tenant può approvare di nuovo, per esempio dopo che l'applicazione ha chiesto nuove autorizzazioni; un altro tenant ha bisogno di un nuovo link da { $partner }.
landing-permissions-heading = Che cosa potrà fare l'applicazione
landing-one-approval = Una sola approvazione vale per tutte le API elencate: la pagina di Microsoft le chiede tutte insieme.
landing-permissions-note = Sono autorizzazioni dell'applicazione: le usa l'applicazione stessa, senza un utente connesso. Nient'altro viene concesso nel vostro tenant.
landing-reconsent-intro = { $partner } lavora già con *{ $customer }*. La sua applicazione ora ha bisogno di altre autorizzazioni: un amministratore del vostro tenant le approva ancora una volta, e ciò che era già stato concesso resta com'è.
landing-reconsent-new-heading = { $partner } ora chiede anche
landing-reconsent-kept-heading = Già concesse (per queste non cambia nulla)
landing-who-heading = Chi può approvare
landing-who = Una persona con uno di questi ruoli nel vostro Microsoft Entra ID: { $roles }.
landing-pinned = Questo invito è per il tenant *{ $tenant }*: accedete con un account di quel tenant.
landing-steps-heading = I passaggi
landing-step-sign-in-and-consent = Accedete con Microsoft, esaminate le autorizzazioni nella pagina di Microsoft e scegliete *Accetta*.
landing-step-sign-in = Accedete con Microsoft: così sappiamo qual è il vostro tenant.
landing-step-consent = Esaminate le autorizzazioni nella pagina di Microsoft e scegliete *Accetta*.
landing-step-return = Tornate qui e vedete che cosa è stato concesso.
landing-continue = Continua con Microsoft
landing-revoke-heading = Se cambiate idea
landing-revoke = Potete rimuovere l'accesso in qualsiasi momento: nell'interfaccia di amministrazione di Microsoft Entra aprite *Applicazioni aziendali*, cercate l'applicazione di { $partner }, aprite *Proprietà* e scegliete *Elimina*.

## Le autorizzazioni dell'applicazione, in parole semplici, sotto l'API che le definisce

api-graph = Microsoft Graph
api-defender = API di Microsoft Defender XDR
api-mde = API di Microsoft Defender per endpoint
role-securityincident-read-all = Leggere i vostri eventi imprevisti di sicurezza e i relativi avvisi
role-securityincident-readwrite-all = Leggere e aggiornare i vostri eventi imprevisti di sicurezza
role-securityalert-read-all = Leggere i vostri avvisi di sicurezza
role-securityalert-readwrite-all = Leggere e aggiornare i vostri avvisi di sicurezza
role-threathunting-read-all = Eseguire query di ricerca avanzata sui vostri dati di sicurezza
role-incident-read-all = Leggere i vostri eventi imprevisti di sicurezza e i relativi avvisi
role-incident-readwrite-all = Leggere e aggiornare i vostri eventi imprevisti di sicurezza
role-advancedhunting-read-all = Eseguire query di ricerca avanzata sui vostri dati di sicurezza
role-alert-read-all = Leggere i vostri avvisi di sicurezza
role-alert-readwrite-all = Leggere e aggiornare i vostri avvisi di sicurezza
role-machine-read-all = Leggere l'elenco dei vostri dispositivi e i loro dettagli
role-advancedquery-read-all = Eseguire query avanzate sui dati di sicurezza dei vostri dispositivi
role-vulnerability-read-all = Leggere le vulnerabilità rilevate sui vostri dispositivi
role-other = Un'autorizzazione dell'applicazione su Microsoft 365 Defender
admin-roles = Amministratore globale, Amministratore ruolo con privilegi, Amministratore applicazioni cloud o Amministratore applicazioni

## La pagina del risultato dopo l'approvazione

result-title = Collegato: { $tenant }
result-heading = Collegato:
result-all-set = È tutto a posto: l'applicazione ha tutte le autorizzazioni che le servono.
result-granted = Concesse
result-still-to-appear = Ancora da comparire
result-none-yet = ancora nessuna
result-nothing = nessuna
result-propagating = Spesso Microsoft impiega qualche minuto (a volte fino a un'ora) per rendere visibili le autorizzazioni appena concesse. Non dovete fare nulla: { $partner } continua a controllare e le vedrà appena compaiono.
result-receipt-heading = Ricevuta del consenso
result-approved-by = Approvato da
result-when = Quando
result-application = Applicazione
result-application-id = { $partner }, ID applicazione
result-tenant = Tenant
result-permissions = Autorizzazioni
result-revoke-heading = Come revocarlo
result-revoke = Nell'interfaccia di amministrazione di Microsoft Entra aprite *Applicazioni aziendali*, cercate l'ID applicazione { $client_id }, aprite *Proprietà* e scegliete *Elimina*. { $partner } vedrà sparire l'accesso al controllo successivo.

## Lo stato del tenant, come lo mostra la pagina del risultato

status-verified = Verificato
status-unproven = Autorizzazioni concesse
status-propagating = In attesa di Microsoft
status-missing-roles = Ruoli mancanti
status-never-checked = Non ancora controllato
status-problem = Richiede attenzione

## Pagine di problema

problem-what-to-do = Che cosa fare:
problem-try-again = Riprova
problem-code = Codice
problem-trace-id = ID traccia
wrong-tenant-title = Questo invito è per un altro tenant
wrong-tenant-signed-in = Avete effettuato l'accesso come *{ $user }*, nel tenant { $tenant }.
wrong-tenant-expected = Questo invito è per *{ $expected }*.
wrong-tenant-nothing = Non è stato collegato nulla. Accedete di nuovo con un account amministratore di { $expected }.
wrong-tenant-sign-in-again = Accedi di nuovo
already-used-title = Questo invito è già stato usato
already-used-signed-in = Avete effettuato l'accesso come *{ $user }*, nel tenant { $tenant }.
already-used = Questo link è già stato usato per il tenant *{ $tenant }*, e ogni link collega un solo tenant.
already-used-what-to-do = Non è stato collegato nulla. Chiedete a { $partner } un nuovo link per il vostro tenant.
already-used-same-tenant = Se volevate approvare di nuovo per { $tenant }, accedete con un account amministratore di quel tenant.

## Perché un passaggio è stato rifiutato

refused-start-over = Aprite di nuovo il link dell'e-mail di attivazione per ricominciare.
refused-request-title = Questa richiesta è stata rifiutata
refused-request = Il modulo non è stato inviato dalla pagina di questo portale, oppure è troppo vecchio.
refused-session-title = La sessione è terminata
refused-session = In questo browser non c'è un'attivazione in corso.
refused-approval-title = Questa approvazione è stata rifiutata
refused-approval-unknown = La risposta di Microsoft non contiene una richiesta fatta da questo portale.
refused-approval-elsewhere = L'approvazione è stata avviata in un'altra sessione del browser, oppure per un altro invito.
refused-approval-tenant = Il tenant nella risposta non è quello con cui avete effettuato l'accesso.
refused-used-title = Questa approvazione è già stata usata
refused-used = Ogni link di approvazione funziona una sola volta.
refused-slow-title = L'approvazione ha richiesto troppo tempo
refused-slow = Per la vostra sicurezza, l'approvazione deve concludersi entro 15 minuti.
refused-unverified-title = Non è stato possibile verificare l'approvazione
refused-unverified = La risposta di Microsoft non ha superato i controlli del portale, quindi non è stata usata.
refused-sign-in-title = Non è stato possibile verificare l'accesso
refused-sign-in = La risposta di Microsoft non ha superato i controlli del portale, quindi nessuno ha effettuato l'accesso.
refused-answer-title = La risposta di Microsoft è incompleta
refused-answer = Una parte della risposta di Microsoft manca o non è valida, quindi non è stato collegato nulla.
not-found-title = Questo link non è valido
not-found = A questo indirizzo non c'è alcun invito di attivazione.
not-found-what-to-do = Controllate di aver aperto il link completo dell'e-mail di attivazione, oppure chiedetene uno nuovo al vostro referente.
gone-title = Questo invito non è più valido
gone = Il link di attivazione è scaduto o è stato ritirato.
gone-what-to-do = Chiedete un nuovo link a:
conflict-title = Questo tenant è già collegato
conflict = Il vostro tenant Microsoft è già collegato per un altro cliente, quindi non è stato collegato di nuovo.
conflict-what-to-do = Non è stato modificato nulla. Contattate il vostro fornitore di servizi: è già stato avvisato.

## Che cosa significano gli errori di Microsoft (codici AADSTS)

aadsts-declined-title = L'approvazione è stata rifiutata
aadsts-declined-what = L'amministratore ha rifiutato di concedere le autorizzazioni, quindi non è stato collegato nulla.
aadsts-declined-do = Se è stato un errore, ricominciate e scegliete Accetta nella pagina di Microsoft.
aadsts-not-admin-title = Serve l'approvazione di un amministratore
aadsts-not-admin-what = L'account con cui avete effettuato l'accesso non può approvare autorizzazioni di applicazioni per la vostra organizzazione.
aadsts-not-admin-do = Chiedete a una persona con il ruolo Amministratore globale, Amministratore ruolo con privilegi, Amministratore applicazioni cloud o Amministratore applicazioni di aprire questo link, oppure accedete di nuovo con un account di questo tipo.
aadsts-other-org-title = Questo account appartiene a un'altra organizzazione
aadsts-other-org-what = L'account con cui avete effettuato l'accesso è un ospite oppure appartiene a un altro tenant di Microsoft Entra.
aadsts-other-org-do = Accedete di nuovo con un account amministratore del tenant della vostra organizzazione.
aadsts-redirect-title = Il portale non è configurato correttamente
aadsts-redirect-what = Microsoft ha rifiutato di riportarvi a questo portale perché il suo indirizzo non è registrato nell'applicazione.
aadsts-redirect-do = Da parte vostra non c'è nessun problema: avvisate il vostro fornitore di servizi, che deve registrare l'indirizzo del portale.
aadsts-incomplete-title = La richiesta a Microsoft era incompleta
aadsts-incomplete-what = Microsoft ha rifiutato la richiesta perché una parte necessaria mancava o non era valida.
aadsts-incomplete-do = Avvisate il vostro fornitore di servizi: riprovare non servirà finché non avrà corretto il problema.
aadsts-app-missing-title = L'applicazione non è nel vostro tenant
aadsts-app-missing-what = Microsoft non ha trovato l'applicazione nella vostra organizzazione: forse l'approvazione non si è conclusa, oppure l'applicazione è stata rimossa.
aadsts-app-missing-do = Ricominciate e approvate l'applicazione. Se l'avete rimossa di proposito, avvisate il vostro fornitore di servizi.
aadsts-app-disabled-title = L'applicazione è disabilitata nel vostro tenant
aadsts-app-disabled-what = Un amministratore della vostra organizzazione ha disabilitato l'applicazione, quindi non può accedere.
aadsts-app-disabled-do = Nell'interfaccia di amministrazione di Microsoft Entra aprite Applicazioni aziendali, cercate l'applicazione e impostate "Abilitato per l'accesso degli utenti" su Sì.
aadsts-tenant-unknown-title = Microsoft non ha riconosciuto il tenant
aadsts-tenant-unknown-what = Microsoft non ha trovato il tenant a cui è destinato questo link.
aadsts-tenant-unknown-do = Controllate di accedere all'organizzazione giusta, oppure chiedete un nuovo link al vostro fornitore di servizi.
aadsts-credentials-title = Le credenziali dell'applicazione sono state rifiutate
aadsts-credentials-what = Microsoft ha rifiutato le credenziali dell'applicazione stessa: è un problema del vostro fornitore di servizi.
aadsts-credentials-do = La vostra approvazione è registrata. Avvisate il vostro fornitore di servizi, che deve rinnovare le credenziali dell'applicazione.
aadsts-no-defender-title = Microsoft 365 Defender non è attivo nel vostro tenant
aadsts-no-defender-what = Il vostro tenant non ha il servizio Microsoft 365 Defender, quindi non è possibile concedere all'applicazione l'accesso.
aadsts-no-defender-do = Verificate che la vostra organizzazione abbia Microsoft 365 Defender, poi riprovate.
aadsts-general-title = Microsoft non ha potuto completare la richiesta
aadsts-general-what = Qualcosa non ha funzionato presso Microsoft durante il collegamento del vostro tenant.
aadsts-general-do = Riprovate. Se continua a succedere, avvisate il vostro fornitore di servizi e indicate il codice qui sotto.
aadsts-cancelled-title = Avete annullato l'approvazione
aadsts-cancelled-what = Non è stato collegato nulla e nel vostro tenant non è stato modificato nulla.
aadsts-cancelled-do = Quando siete pronti, ricominciate dal link che avete ricevuto.

## Pagine di errore

error-eyebrow = Errore { $status }
error-reference = Riferimento per l'assistenza:
error-400-title = Richiesta non valida
error-400 = Non è stato possibile interpretare la richiesta.
error-401-title = Accesso necessario
error-401 = Per vedere questa pagina dovete effettuare l'accesso.
error-403-title = Non consentito
error-403 = Non vi è consentito farlo.
error-404-title = Pagina non trovata
error-404 = A questo indirizzo non c'è nulla. Controllate il link, oppure ricominciate dall'e-mail che avete ricevuto.
error-405-title = Non consentito
error-405 = Questo indirizzo non accetta questo tipo di richiesta.
error-408-title = Troppo lento
error-408 = La richiesta ha impiegato troppo tempo ad arrivare. Riprovate.
error-413-title = Troppi dati
error-413 = La richiesta conteneva più dati di quanti ne accetti questo portale.
error-414-title = Indirizzo troppo lungo
error-414 = L'indirizzo è più lungo di quanto accetti questo portale.
error-415-title = Contenuto non supportato
error-415 = La richiesta conteneva un tipo di contenuto che questo portale non accetta.
error-422-title = Dati non validi
error-422 = Alcune delle informazioni inviate non sono valide.
error-429-title = Troppe richieste
error-429 = Troppe richieste dal vostro indirizzo. Attendete un minuto e riprovate.
error-431-title = Richiesta troppo grande
error-431 = Le intestazioni della richiesta sono più grandi di quanto accetti questo portale. Cancellare i cookie di questo sito può aiutare.
error-503-title = Temporaneamente non disponibile
error-503 = In questo momento il portale non può completare l'operazione. Non è andato perso nulla: riprovate tra qualche minuto.
error-504-title = Tempo scaduto
error-504 = Il portale ha impiegato troppo tempo a rispondere. Riprovate.
error-4xx-title = Richiesta rifiutata
error-4xx = Questa richiesta non può essere gestita.
error-500-title = Qualcosa non ha funzionato
error-500 = Qualcosa non ha funzionato da parte nostra. L'errore è stato registrato: riprovate più tardi.
error-409-title = Già fatto altrove
error-410-title = Non più valido

## Passaggi di accesso rifiutati

refused-no-sign-in-title = Nessun accesso in corso
refused-no-sign-in = Questo browser non ha avviato un accesso qui, oppure la sessione è terminata.
refused-sign-in-done = Questo accesso è già stato completato oppure non è mai stato avviato qui.
refused-sign-in-state-title = Questo accesso è stato rifiutato
refused-sign-in-state = La risposta di Microsoft non appartiene all'accesso avviato da questo browser.
refused-sign-in-slow-title = L'accesso ha richiesto troppo tempo
refused-sign-in-slow = Per la vostra sicurezza, un accesso deve concludersi entro 15 minuti.

## La pagina principale, per chi arriva senza un link

home-title = Benvenuti
home-heading = Attivazione dei clienti per Microsoft 365 Defender
home-intro = Questo portale collega i tenant dei clienti alla nostra applicazione di Microsoft Entra ID, così da poter lavorare per vostro conto con i vostri dati di Microsoft 365 Defender. Registra con esattezza quale tenant ha dato il consenso, chi l'ha approvato e quando, e continua a controllare che l'accesso funzioni ancora.
home-link = Se avete ricevuto un link di attivazione, apritelo: vi guida nei due passaggi (accesso con Microsoft, poi approvazione dell'applicazione).
home-staff-sign-in = Personale del partner: accedi alla dashboard
home-asks-heading = Che cosa chiede l'applicazione

## E-mail

email-subject = { $partner }: collegate { $customer } al monitoraggio di Microsoft 365 Defender
email-reminder-subject = Promemoria — { $partner }: collegate { $customer } al monitoraggio di Microsoft 365 Defender
email-heading = Collegate { $customer } a { $partner }
email-greeting = Buongiorno,
email-intro = { $partner } chiede a un amministratore di { $customer } di approvare la sua applicazione nel vostro tenant Microsoft.
email-reminder-intro = Vi ricordiamo che { $partner } è ancora in attesa che un amministratore di { $customer } approvi la sua applicazione nel vostro tenant Microsoft.
email-why = Con questa approvazione { $partner } potrà leggere i vostri dati di sicurezza di Microsoft 365 Defender, per monitorare i vostri eventi imprevisti e avvisi nell'ambito del suo servizio. Nient'altro viene concesso nel vostro tenant, e potete revocare l'approvazione in qualsiasi momento.
email-permissions-heading = Che cosa potrà fare l'applicazione:
email-one-approval = Una sola approvazione vale per tutte le API elencate.
email-who = Chi può approvare: una persona con uno di questi ruoli nel vostro Microsoft Entra ID: { $roles }. Se non siete voi, inoltrate questa e-mail a quella persona.
email-link-intro = Il link apre una pagina che spiega ogni passaggio prima che accada qualcosa:
email-action = Apri la pagina di attivazione
email-expires = Il link è valido fino al { $date }.
email-contact = Domande? Contattate { $partner }: { $contact }
email-contact-reply = Domande? Rispondete a questa e-mail per contattare { $partner }.
email-footer = Ricevete questa e-mail perché { $partner } ha invitato { $customer } a collegare il suo tenant Microsoft. Se non l'aspettavate, potete ignorarla: nulla cambia finché un amministratore non approva.
email-reconsent-subject = { $partner } chiede a { $customer } di approvare nuove autorizzazioni
email-reconsent-reminder-subject = Promemoria — { $partner } chiede a { $customer } di approvare nuove autorizzazioni
email-reconsent-heading = { $partner } ha bisogno di una nuova approvazione da { $customer }
email-reconsent-intro = { $partner } ha collegato { $customer } tempo fa. La sua applicazione ora ha bisogno di altre autorizzazioni, e un amministratore di { $customer } deve approvarle ancora una volta nel vostro tenant Microsoft.
email-reconsent-reminder-intro = Vi ricordiamo che { $partner } è ancora in attesa che un amministratore di { $customer } approvi le nuove autorizzazioni della sua applicazione.
email-reconsent-new-heading = { $partner } ora chiede anche:
email-reconsent-kept-heading = Già concesse (per queste non cambia nulla):
