"""Words and templates the demo draws from.

Subjects and bodies are filled from many independent slots (products, features, errors,
devices, places, amounts) so a data set of a million tickets still has a long tail of distinct
words, and full-text search returns focused result sets rather than "everything matches".
"""

from __future__ import annotations

FIRST_NAMES = (
    "Aisha", "Alejandro", "Amara", "Anders", "Anna", "Arjun", "Astrid", "Beatriz", "Ben", "Bilal",
    "Camille", "Carlos", "Chen", "Chloe", "Dario", "Dmitri", "Elena", "Emeka", "Emma", "Farah",
    "Fatima", "Finn", "Gabriel", "Grace", "Hana", "Hugo", "Ines", "Isaac", "Jamal", "Jana",
    "Javier", "Jin", "Julia", "Kai", "Karin", "Kenji", "Lars", "Layla", "Leon", "Lina", "Lucas",
    "Maya", "Mateo", "Mei", "Mia", "Mohammed", "Nadia", "Niamh", "Nikolai", "Noah", "Nora",
    "Olga", "Omar", "Oscar", "Paula", "Pedro", "Priya", "Rafael", "Rosa", "Ruth", "Sakura",
    "Samir", "Sara", "Sean", "Sofia", "Tariq", "Theo", "Tomas", "Uma", "Valentina", "Victor",
    "Wei", "Yara", "Yusuf", "Zara", "Zoe",
)  # fmt: skip

LAST_NAMES = (
    "Abebe", "Andersson", "Bauer", "Becker", "Bianchi", "Brown", "Castro", "Chen", "Costa",
    "Dubois", "Dvorak", "Eriksen", "Fernandes", "Fischer", "Garcia", "Gonzalez", "Haddad",
    "Hansen", "Hoffmann", "Ibrahim", "Ivanova", "Jansen", "Johnson", "Kaur", "Kim", "Kowalski",
    "Larsen", "Lee", "Lopez", "Martin", "Meyer", "Moreau", "Muller", "Murphy", "Nakamura",
    "Nguyen", "Novak", "Okafor", "Olsen", "Patel", "Pereira", "Petrov", "Popescu", "Quinn",
    "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Smith", "Sokolov", "Suzuki", "Tanaka",
    "Taylor", "Yilmaz", "Wagner", "Walsh", "Weber", "Williams", "Wong", "Zhang",
)  # fmt: skip

ORG_FIRST = (
    "Northwind", "Bluebird", "Copperleaf", "Harbor", "Juniper", "Lighthouse", "Maple", "Nimbus",
    "Orchard", "Pinecone", "Quarry", "Redwood", "Saffron", "Tidewater", "Umber", "Velvet",
    "Willow", "Yellowstone", "Zephyr", "Granite", "Ember", "Falcon", "Glacier", "Heron",
)  # fmt: skip
ORG_SECOND = (
    "Logistics", "Bakery", "Studios", "Analytics", "Dental", "Outfitters", "Robotics", "Travel",
    "Books", "Clinic", "Coffee", "Energy", "Foods", "Gardens", "Labs", "Media", "Motors",
    "Pharmacy", "Realty", "Supply", "Textiles", "Ventures", "Workshop", "Yoga",
)  # fmt: skip
ORG_SUFFIX = ("Ltd", "GmbH", "Inc", "BV", "SARL", "Co", "AB", "Oy")

FREE_MAIL_DOMAINS = ("mail.example", "inbox.example", "post.example", "webmail.example")
SOCIAL_NETWORKS = ("x", "instagram", "facebook", "mastodon")
TIME_ZONES = (
    "Europe/London", "Europe/Berlin", "Europe/Madrid", "America/New_York", "America/Chicago",
    "America/Los_Angeles", "America/Sao_Paulo", "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney",
    "Africa/Lagos", "UTC",
)  # fmt: skip
LANGUAGES = ("en", "en", "en", "de", "fr", "es", "nl", "pt")
PHONE_PREFIXES = ("+44 20 7946", "+1 202 555", "+49 30 9018", "+33 1 7091", "+34 91 123", "+31 20 794")

PRODUCTS = (
    "Starter plan", "Pro plan", "mobile app", "desktop app", "smart thermostat", "router",
    "wireless earbuds", "coffee grinder", "e-bike", "standing desk", "POS terminal", "label printer",
    "security camera", "smartwatch", "subscription box", "gift card", "espresso machine", "air purifier",
)  # fmt: skip
FEATURES = (
    "two-factor login", "password reset", "CSV export", "calendar sync", "push notifications",
    "dark mode", "invoice download", "team invitations", "single sign-on", "webhooks",
    "offline mode", "bulk import", "shared inbox", "reporting dashboard", "firmware update",
    "Bluetooth pairing", "auto-renewal", "order tracking", "address book", "voice commands",
)  # fmt: skip
ERRORS = (
    "error 403", "error 500", "timeout", "blank screen", "infinite spinner", "crash on launch",
    "sync conflict", "checksum mismatch", "certificate warning", "quota exceeded",
    "payment declined", "duplicate charge", "missing attachment", "garbled characters",
)  # fmt: skip
DEVICES = (
    "iPhone 15", "Pixel 8", "Galaxy S23", "iPad", "MacBook Air", "ThinkPad", "Chromebook",
    "Windows 11 laptop", "Firefox", "Safari", "Chrome", "Edge", "Android tablet", "Linux desktop",
)  # fmt: skip
CARRIERS = ("DHL", "UPS", "FedEx", "PostNL", "Royal Mail", "La Poste", "GLS", "DPD")
CITIES = (
    "Amsterdam", "Berlin", "Lisbon", "Madrid", "Manchester", "Lyon", "Toronto", "Austin",
    "Nairobi", "Osaka", "Melbourne", "Dublin", "Warsaw", "Oslo", "Porto", "Glasgow",
)  # fmt: skip
COLOURS = ("black", "white", "sage green", "navy", "sand", "graphite", "coral", "oat")

# Each topic: (team, ticket type, tags, subject templates, body templates).
# Slots: {product} {feature} {error} {device} {carrier} {city} {colour} {amount} {order} {invoice} {days}
TOPICS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "Billing", "question", ("billing", "invoice"),
        ("Question about invoice {invoice}", "Invoice {invoice} shows the wrong VAT number",
         "Can I get a copy of invoice {invoice}?", "Why did my invoice go up to {amount}?"),
        ("Hello,\n\nI was looking at invoice {invoice} for the {product} and the total is {amount}. "
         "Last month it was lower and I do not see why. Could you explain the difference?",
         "Hi there,\n\nOur accountant needs invoice {invoice} with our company address in {city}. "
         "The PDF from the portal still has the old address. Can you reissue it?"),
    ),
    (
        "Billing", "incident", ("billing", "payment"),
        ("Charged twice for my {product}", "Payment declined but money left my account",
         "Duplicate charge of {amount}", "Refund for order {order} not received"),
        ("Hi,\n\nI see two charges of {amount} on my card for order {order}. I only ordered once. "
         "Please refund the duplicate charge.",
         "Hello,\n\nYou promised a refund of {amount} for order {order} {days} days ago and it has "
         "not arrived. My bank says nothing is pending."),
    ),
    (
        "Billing", "task", ("billing", "plan-change"),
        ("Upgrade from Starter plan to Pro plan", "Cancel auto-renewal of my subscription",
         "Switch billing to yearly", "Change card on file before renewal"),
        ("Hello,\n\nWe would like to move our team to yearly billing before the renewal in {days} days. "
         "What would the new price be for our seats?",
         "Hi,\n\nPlease turn off auto-renewal for our {product}. We are moving our office to {city} "
         "and will decide after the move."),
    ),
    (
        "Technical", "incident", ("bug", "app"),
        ("{product} shows {error} on {device}", "{feature} broken since the last update",
         "{error} when I open {feature}", "App crashes on {device} after update"),
        ("Hi,\n\nSince yesterday the {product} shows {error} whenever I try {feature} on my {device}. "
         "I already restarted and reinstalled. Nothing changed.",
         "Hello,\n\nWhen I use {feature} I get {error}. It happens on {device} but not on my other "
         "computer. Screenshots are attached to my previous mail."),
    ),
    (
        "Technical", "problem", ("bug", "sync"),
        ("{feature} does not sync between devices", "Data missing after {feature}",
         "Sync conflict on {device}", "{feature} stuck for {days} days"),
        ("Hi,\n\nThe {feature} has not synced for {days} days. My {device} shows older data than the "
         "web version and I get a {error} message in the log.",
         "Hello team,\n\nSeveral of our users in {city} report that {feature} loses their changes. "
         "It looks like a sync conflict. Is there a known issue?"),
    ),
    (
        "Technical", "question", ("how-to", "setup"),
        ("How do I set up {feature}?", "Connecting {product} to {device}",
         "Where do I find {feature} settings?", "Is {feature} available on {device}?"),
        ("Hello,\n\nI just bought the {product} and cannot find how to turn on {feature}. The manual "
         "mentions a settings page but my {device} does not show it.",
         "Hi,\n\nDoes the {product} support {feature}? We want to roll it out to our office in "
         "{city} next month."),
    ),
    (
        "Technical", "incident", ("hardware", "device"),
        ("{product} will not turn on", "{product} overheating", "Strange noise from my {product}",
         "{product} firmware update failed"),
        ("Hello,\n\nMy {colour} {product} stopped working this morning. The light blinks three times "
         "and then nothing. I tried another power outlet.",
         "Hi,\n\nThe firmware update on my {product} failed halfway with {error}. Now it restarts "
         "every few minutes. What should I do?"),
    ),
    (
        "Support", "question", ("shipping", "order"),
        ("Where is my order {order}?", "Order {order} stuck at {carrier}",
         "Delivery to {city} delayed", "Tracking number for order {order} not working"),
        ("Hi,\n\nMy order {order} was shipped with {carrier} {days} days ago and the tracking page "
         "has not changed since. I need it before the weekend.",
         "Hello,\n\nThe {carrier} tracking link for order {order} says the address in {city} is "
         "incomplete. The address in my account is correct."),
    ),
    (
        "Support", "incident", ("returns", "order"),
        ("Return for order {order}", "Wrong colour delivered: {colour}", "Damaged {product} delivered",
         "Exchange {product} for another size"),
        ("Hello,\n\nThe {product} from order {order} arrived damaged: the box was crushed and the "
         "front panel is cracked. I would like a replacement.",
         "Hi,\n\nI ordered the {product} in {colour} but received a different colour. How do I "
         "return it? Is the return label free?"),
    ),
    (
        "Support", "question", ("account", "login"),
        ("Cannot log in to my account", "Password reset email never arrives",
         "Locked out after {feature}", "Change the email address on my account"),
        ("Hello,\n\nI tried the password reset three times but the email never arrives. I checked "
         "spam. I use the {product} every day and need access today.",
         "Hi,\n\nAfter turning on {feature} I am locked out. My old phone was a {device} and I "
         "no longer have it."),
    ),
    (
        "Success", "task", ("onboarding", "training"),
        ("Onboarding session for our team in {city}", "Training on {feature} for new staff",
         "Help migrating to {product}", "Best practice for {feature}"),
        ("Hello,\n\nWe signed up last week and would like an onboarding call for twelve people in "
         "{city}. We are most interested in {feature} and reporting.",
         "Hi,\n\nWe are migrating from a spreadsheet to the {product}. Can someone help us with bulk "
         "import and {feature}?"),
    ),
    (
        "Success", "question", ("feedback", "feature-request"),
        ("Feature request: {feature} on {device}", "Suggestion for {product}",
         "Feedback after {days} days with {product}", "Please add {feature}"),
        ("Hi,\n\nWe love the {product}, but {feature} is missing on {device}. Half of our team in "
         "{city} would use it daily.",
         "Hello,\n\nA small suggestion: {feature} would be much more useful with CSV export. "
         "Otherwise we are very happy."),
    ),
)  # fmt: skip

AGENT_REPLIES = (
    "Thanks for reaching out, {first}. I have looked into this and {fix}. Let me know if that helps.",
    "Hi {first}, sorry for the trouble. {fix_cap}. I will keep this ticket open until you confirm.",
    "Hello {first}, thank you for the details. Could you send a screenshot and the version number "
    "from the about page? That will help us reproduce it.",
    "Hi {first}, good news: {fix}. Anything else I can do for you?",
    "Hello {first}, I have escalated this to our specialists in {city}. We will update you within "
    "two working days.",
)  # fmt: skip
FIXES = (
    "I refunded the duplicate charge; it takes three to five days to appear",
    "I reissued the invoice with the new address",
    "a fix for this is in version 4.2, which you can install now",
    "I reset the two-factor login on your account",
    "I sent a new return label to your email address",
    "the carrier confirmed delivery for tomorrow",
    "I cleared the sync queue on our side, so your data should appear within minutes",
    "I booked the onboarding session for next Tuesday",
    "I passed your suggestion to our product team",
    "I replaced the order with express shipping at no cost",
)  # fmt: skip
CUSTOMER_FOLLOW_UPS = (
    "Thanks, that worked!",
    "I tried that but I still see the same {error}.",
    "Here is the screenshot you asked for. The version is 4.1.3 on my {device}.",
    "Any update on this? It has been {days} days.",
    "Perfect, thank you for the quick help.",
    "That did not help. Can someone call me?",
)  # fmt: skip
INTERNAL_NOTES = (
    "Checked the payment provider log: one charge was a pre-authorisation.",
    "Same issue as three other tickets this week; probably the 4.1 release.",
    "Customer is on the Enterprise plan, keep the account owner in the loop.",
    "Reproduced on staging with {device}. Filed an engineering issue.",
    "Carrier {carrier} confirmed a depot delay in {city}.",
)  # fmt: skip
