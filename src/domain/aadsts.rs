//! What Microsoft's AADSTS error codes mean for a person, and what they can do about each. Shown instead
//! of Microsoft's `error_description`, which is never reflected (it comes from the query string, so
//! anyone can write it).

/// The explanation of one error, in plain words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Explanation {
    pub title: &'static str,
    pub what_happened: &'static str,
    pub what_to_do: &'static str,
}

const ADMIN_ROLES: &str =
    "Global Administrator, Privileged Role Administrator, Cloud Application Administrator or Application Administrator";

/// The explanation for an AADSTS code, or a general one for a code we do not know.
pub fn explain(code: Option<u32>) -> Explanation {
    let e = |title, what_happened, what_to_do| Explanation { title, what_happened, what_to_do };
    match code {
        Some(65004) => e(
            "The approval was declined",
            "The administrator declined to grant the permissions, so nothing was connected.",
            "If this was a mistake, start again and choose Accept on Microsoft's page.",
        ),
        Some(90093) | Some(90094) | Some(65001) => e(
            "An administrator needs to approve this",
            "The account you signed in with cannot approve application permissions for your organization.",
            "Ask someone with the Global Administrator, Privileged Role Administrator, Cloud Application Administrator or Application Administrator role to open this link, or sign in again with such an account.",
        ),
        Some(50020) => e(
            "This account belongs to another organization",
            "The account you signed in with is a guest or belongs to a different Microsoft Entra tenant.",
            "Sign in again with an administrator account of your own organization's tenant.",
        ),
        Some(50011) => e(
            "The portal is not set up correctly",
            "Microsoft refused to send you back to this portal because its address is not registered on the application.",
            "Nothing is wrong on your side: please tell your service provider, who needs to register the portal's address.",
        ),
        Some(900144) | Some(70011) => e(
            "The request to Microsoft was incomplete",
            "Microsoft refused the request because a required part of it was missing or not valid.",
            "Please tell your service provider; trying again will not help until they fix it.",
        ),
        Some(700016) | Some(7000229) => e(
            "The application is not in your tenant",
            "Microsoft could not find the application in your organization: the approval may not have completed, or it was removed.",
            "Start again and approve the application. If you removed it on purpose, tell your service provider.",
        ),
        Some(7000112) => e(
            "The application is disabled in your tenant",
            "An administrator of your organization disabled the application, so it cannot sign in.",
            "In the Microsoft Entra admin center, open Enterprise applications, find the application, and set \"Enabled for users to sign in\" to Yes.",
        ),
        Some(90002) | Some(900023) => e(
            "Microsoft did not recognise the tenant",
            "The tenant this link is for could not be found at Microsoft.",
            "Check that you are signing in to the right organization, or ask your service provider for a new link.",
        ),
        Some(7000215) | Some(7000222) => e(
            "The application's credentials were refused",
            "Microsoft refused the application's own credentials; this is a problem on your service provider's side.",
            "Your approval is recorded. Please tell your service provider, who needs to renew the application's credentials.",
        ),
        Some(500011) => e(
            "Microsoft 365 Defender is not set up in your tenant",
            "Your tenant has no Microsoft 365 Defender service, so the application cannot be given access to it.",
            "Check that your organization has Microsoft 365 Defender, then try again.",
        ),
        _ => e(
            "Microsoft could not complete the request",
            "Something went wrong at Microsoft while connecting your tenant.",
            "Please try again. If it keeps happening, tell your service provider and quote the code below.",
        ),
    }
}

/// The roles that can approve application permissions, for the landing page.
pub fn admin_roles() -> &'static str {
    ADMIN_ROLES
}

/// The explanation when the person chose Cancel on Microsoft's page.
pub fn cancelled() -> Explanation {
    Explanation {
        title: "You cancelled the approval",
        what_happened: "Nothing was connected and nothing was changed in your tenant.",
        what_to_do: "When you are ready, start again from the link you received.",
    }
}

/// Finds the AADSTS code in an `error_description` (the only thing read from it).
pub fn code_in(description: &str) -> Option<u32> {
    let start = description.find("AADSTS")? + "AADSTS".len();
    let digits: String = description[start..].chars().take_while(char::is_ascii_digit).take(9).collect();
    digits.parse().ok()
}

/// A plain-words description of an application permission of the Defender API.
pub fn describe_role(role: &str) -> &'static str {
    match role {
        "Incident.Read.All" => "Read your security incidents and their alerts",
        "Incident.ReadWrite.All" => "Read and update your security incidents",
        "AdvancedHunting.Read.All" => "Run advanced hunting queries over your security data",
        "Alert.Read.All" => "Read your security alerts",
        "Alert.ReadWrite.All" => "Read and update your security alerts",
        _ => "An application permission on Microsoft 365 Defender",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_code_and_nothing_else() {
        assert_eq!(code_in("AADSTS65004: The resource owner ... denied the request.\r\nTrace ID: x"), Some(65004));
        assert_eq!(code_in("no code here"), None);
        assert_eq!(code_in("AADSTS<script>"), None);
    }

    #[test]
    fn every_code_of_entra_md_has_its_own_explanation() {
        let general = explain(None);
        for code in
            [65004, 90093, 90094, 65001, 50011, 900144, 50020, 700016, 7000229, 7000112, 90002, 900023, 7000215, 7000222, 500011, 70011]
        {
            assert_ne!(explain(Some(code)), general, "{code}");
        }
        assert!(explain(Some(90093)).what_to_do.contains("Cloud Application Administrator"));
    }
}
