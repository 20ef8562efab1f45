# Italiano: le parole delle pagine del finto Microsoft (accesso, consenso, errori), nella lingua che
# l'applicazione chiede. Solo testo: il markup lo aggiungono i template. Ogni chiave deve essere anche in en.ftl.

fake-tag = finto integrato
fake-foot = Questo è il finto integrato della piattaforma di identità Microsoft di consent-portal. Non viene usato nessun account reale.
fake-sign-in-title = Accedi al tuo account
fake-pick-account = Scegli un account
fake-continue-to = per continuare su
fake-admin-needed = (serve l'approvazione di un amministratore)
fake-administrator = Amministratore
fake-user = Utente
fake-permissions-requested = Autorizzazioni richieste
fake-unverified = non verificata
fake-app-would-like = Questa app vorrebbe:
fake-consent-for-everyone = Se accetti, questa app avrà accesso alle risorse specificate per tutti gli utenti di *{ $tenant }*. A nessun altro verrà chiesto di esaminare queste autorizzazioni.
fake-application-id = ID applicazione:
fake-cancel = Annulla
fake-accept = Accetta
fake-use-another-account = Usa un altro account
fake-trouble = Siamo spiacenti, ma si è verificato un problema durante l'accesso.
fake-back-to-app = Torna all'applicazione
fake-troubleshooting = Dettagli per la risoluzione dei problemi
fake-error-code = Codice errore
fake-request-id = ID richiesta
fake-correlation-id = ID correlazione
fake-timestamp = Timestamp
