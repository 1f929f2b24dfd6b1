"""One-sentence definitions of every metric and rate (EN, FR), part of the catalogue
(catalogue.py re-exports them): shown on hover/focus in the page, in the email's glossary
and in docs/experiments.md. A test checks that every catalogue name has one."""
from __future__ import annotations

# One-sentence definitions (EN, FR): shown on hover/focus in the page and in the email's glossary.
DEFINITIONS: dict[str, tuple[str, str]] = {
    "audience": ("Distinct profiles targeted on any channel in the period.",
                 "Profils distincts ciblés sur au moins un canal pendant la période."),
    "targeted": ("Profiles that qualified as targets of the message.", "Profils retenus comme cibles du message."),
    "excluded": ("Targeted profiles left out before sending (rules, denylist, consent).",
                 "Profils ciblés écartés avant l'envoi (règles, liste de blocage, consentement)."),
    "sent": ("Messages handed to the sending pipeline.", "Messages remis à la chaîne d'envoi."),
    "delivered": ("Messages the recipient's provider accepted.", "Messages acceptés par le fournisseur du destinataire."),
    "bounce": ("Messages returned by the recipient's server: hard (permanent), soft (temporary) or ignored.",
               "Messages renvoyés par le serveur du destinataire : hard (définitif), soft (temporaire) ou ignoré."),
    "error": ("Messages that could not be sent (invalid address, refused, unreachable...).",
              "Messages qui n'ont pas pu être envoyés (adresse invalide, refus, injoignable...)."),
    "retry": ("Messages put back in the retry queue.", "Messages replacés dans la file de reprise."),
    "quarantine": ("Addresses newly quarantined after repeated failures.",
                   "Adresses mises en quarantaine après des échecs répétés."),
    "open": ("Opens, counted each time a message is opened (machine opens included).",
             "Ouvertures, comptées à chaque ouverture (ouvertures machine comprises)."),
    "open_machine": ("Opens by machines, not people: privacy proxies (Apple Mail Privacy Protection) and "
                     "security scanners, as the sending platform flags them. Shown beside human opens and left "
                     "out of the open rate and reactivity unless you include them.",
                     "Ouvertures faites par des machines, pas par des personnes : relais de confidentialité "
                     "(Apple Mail Privacy Protection) et scanners de sécurité, tels que la plateforme d'envoi les "
                     "signale. Affichées à côté des ouvertures humaines et exclues du taux d'ouverture et de la "
                     "réactivité, sauf si vous les incluez."),
    "open_all": ("Distinct profiles who opened, machine opens included.",
                 "Profils distincts ayant ouvert, ouvertures machine comprises."),
    "engaged": ("Distinct profiles who opened (a human open) or clicked: a click proves an open.",
                "Profils distincts ayant ouvert (ouverture humaine) ou cliqué : un clic prouve une ouverture."),
    "engaged_all": ("Distinct profiles who opened, machine opens included, or clicked.",
                    "Profils distincts ayant ouvert, ouvertures machine comprises, ou cliqué."),
    "click": ("Clicks on tracked links, counted each time.", "Clics sur les liens suivis, comptés à chaque fois."),
    "distinct": ("Each profile counted once, however often it acted (exact for small numbers, estimated within "
                 "2 % above). Events without a profile_id (sending platforms) count by a keyed hash of the "
                 "recipient address, which is never stored; by message when the platform names no recipient.",
                 "Chaque profil compté une fois, quel que soit le nombre de ses actions (exact pour de petits "
                 "nombres, estimé à 2 % près au-delà). Les événements sans profile_id (plateformes d'envoi) "
                 "comptent par une empreinte chiffrée de l'adresse du destinataire, jamais conservée ; par message "
                 "quand la plateforme ne nomme pas de destinataire."),
    "inferred_sent": ("Messages the source reported delivered, bounced or failed beyond the sends it reported: "
                      "counted as sent, so that no rate passes 100 %. Some platforms never report sends (SES "
                      "identity notifications carry deliveries, bounces and complaints only).",
                      "Messages que la source a signalés délivrés, en rebond ou en erreur au-delà des envois "
                      "qu'elle a signalés : comptés comme envoyés, pour qu'aucun taux ne dépasse 100 %. Certaines "
                      "plateformes ne signalent jamais les envois (les notifications d'identité SES ne portent "
                      "que les délivrances, rebonds et plaintes)."),
    "inferred_delivered": ("Messages opened, clicked, unsubscribed from or reported as spam beyond the deliveries "
                           "the source reported: counted as delivered, since a message read was delivered.",
                           "Messages ouverts, cliqués, désabonnés ou signalés comme spam au-delà des délivrances "
                           "signalées par la source : comptés comme délivrés, puisqu'un message lu a été délivré."),
    "unsubscribe": ("Clicks on the unsubscribe link.", "Clics sur le lien de désabonnement."),
    "spam_complaint": ("Recipients who reported the message as spam.", "Destinataires qui ont signalé le message comme spam."),
    "mirror_page": ("Clicks on the mirror-page link.", "Clics sur le lien de la page miroir."),
    "forward": ("Messages forwarded by their recipient.", "Messages transférés par leur destinataire."),
    "action": ("Actions on a push notification (button, dismiss).", "Actions sur une notification push (bouton, fermeture)."),
    "engagements": ("Push opens plus actions.", "Ouvertures push plus actions."),
    "impression": ("Times an in-app message or web experience was displayed.",
                   "Affichages d'un message in-app ou d'une expérience web."),
    "unique_impression": ("Distinct profiles who saw at least one impression.",
                          "Profils distincts ayant vu au moins un affichage."),
    "interaction": ("Interactions with an in-app message or web element.",
                    "Interactions avec un message in-app ou un élément web."),
    "conversion": ("Conversions (purchases, sign-ups…) credited to the campaign, counted each time.",
                   "Conversions (achats, inscriptions…) attribuées à la campagne, comptées à chaque fois."),
    "revenue": ("The sum of the conversions' values, in the campaign's currency.",
                "La somme des valeurs des conversions, dans la devise de la campagne."),
    "conversion_rate": ("Distinct converters ÷ delivered (in-app and web: ÷ impressions; direct mail: ÷ sent).",
                        "Convertisseurs distincts ÷ délivrés (in-app et web : ÷ impressions ; courrier : ÷ envoyés)."),
    "revenue_per_recipient": ("Revenue ÷ delivered (in-app and web: ÷ impressions; direct mail: ÷ sent).",
                              "Chiffre d'affaires ÷ délivrés (in-app et web : ÷ impressions ; courrier : ÷ envoyés)."),
    "people": ("Distinct profiles sent the variant (shown it, for in-app and web), exactly counted; a profile "
               "seen in two variants counts in the first.",
               "Profils distincts ayant reçu la variante (l'ayant vue, pour l'in-app et le web), comptés exactement ; "
               "un profil vu dans deux variantes compte dans la première."),
    "successes": ("Distinct people of the variant who did the metric's action at least once (for revenue: the "
                  "sum of their conversions' values).",
                  "Personnes distinctes de la variante ayant fait l'action de la mesure au moins une fois (pour le "
                  "chiffre d'affaires : la somme des valeurs de leurs conversions)."),
    "lift": ("How much better (or worse) the variant does than the baseline, relative to the baseline.",
             "De combien la variante fait mieux (ou moins bien) que la référence, relativement à la référence."),
    "confidence": ("1 − an anytime-valid p-value: how strongly the data so far contradict \"no difference\", "
                   "valid however often you look. It is not the probability that the variant is better.",
                   "1 − une p-valeur valide à tout moment : à quel point les données contredisent « aucune "
                   "différence », quel que soit le nombre de consultations. Ce n'est pas la probabilité que la "
                   "variante soit meilleure."),
    "bounds": ("The difference with the baseline lies between these bounds, at the chosen confidence level, at "
               "every moment of the experiment at once (a confidence sequence).",
               "La différence avec la référence est entre ces bornes, au niveau de confiance choisi, à chaque "
               "instant de l'expérience à la fois (une suite de confiance)."),
    "action_executed": ("Campaign actions executed for a profile (a workflow step).",
                        "Actions de campagne réalisées pour un profil (une étape du workflow)."),
    "delivered_rate": ("Delivered ÷ sent (sent includes inferred sends).",
                       "Délivrés ÷ envoyés (envois déduits compris)."),
    "bounce_rate": ("Bounces ÷ sent (sent includes inferred sends).", "Rebonds ÷ envoyés (envois déduits compris)."),
    "error_rate": ("Errors ÷ sent (sent includes inferred sends).", "Erreurs ÷ envoyés (envois déduits compris)."),
    "open_rate": ("Distinct human openers ÷ delivered (delivered includes inferred deliveries). Machine opens "
                  "are left out: turn on “Include machine opens” to count them.",
                  "Ouvreurs humains distincts ÷ délivrés (délivrances déduites comprises). Les ouvertures machine "
                  "sont exclues : activez « Inclure les ouvertures machine » pour les compter."),
    "open_rate_all": ("Distinct openers, machine opens included, ÷ delivered.",
                      "Ouvreurs distincts, ouvertures machine comprises, ÷ délivrés."),
    "click_rate": ("Distinct clickers ÷ delivered.", "Cliqueurs distincts ÷ délivrés."),
    "reactivity": ("Distinct clickers ÷ distinct human openers (clickers count as openers: a click proves an "
                   "open): the share of openers who went on to click.",
                   "Cliqueurs distincts ÷ ouvreurs humains distincts (les cliqueurs comptent comme ouvreurs : un "
                   "clic prouve une ouverture) : la part des ouvreurs qui ont cliqué."),
    "reactivity_all": ("Distinct clickers ÷ distinct openers or clickers, machine opens included.",
                       "Cliqueurs distincts ÷ ouvreurs ou cliqueurs distincts, ouvertures machine comprises."),
    "offer_sent": ("Decisioning offers placed in sent emails (one per offer and message), by offer.",
                   "Offres de décisionnement placées dans les emails envoyés (une par offre et message), par offre."),
    "offer_impression": ("Times an offer was displayed to a recipient who opened the email.",
                         "Affichages d'une offre à un destinataire qui a ouvert l'email."),
    "offer_click": ("Clicks on an offer's link.", "Clics sur le lien d'une offre."),
    "unsubscribe_rate": ("Unsubscribes ÷ delivered.", "Désabonnements ÷ délivrés."),
    "complaint_rate": ("Spam complaints ÷ delivered.", "Plaintes pour spam ÷ délivrés."),
}


def definitions(lang: str) -> dict[str, str]:
    idx = 1 if lang == "fr" else 0
    return {name: pair[idx] for name, pair in DEFINITIONS.items()}
