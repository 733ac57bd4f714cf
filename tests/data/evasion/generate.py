"""Builds the labelled evasion corpus beside this file; deterministic (fixed seed).

    python tests/data/evasion/generate.py

Writes bank.txt (one term a line), positives.jsonl ({"text", "term", "class"}: an evasive
spelling of `term` inside an ordinary message) and negatives.jsonl ({"text", "class"}: clean
text that contains no bank term as a word, including Scunthorpe-style words, numbers, prices,
e-mail addresses, code and other languages). It checks that no positive spells its term
plainly and no negative contains a term plainly, so the labels hold.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from pathlib import Path

HERE = Path(__file__).parent

TERMS = """
free money|crypto giveaway|wire transfer|gift card|gift cards|bitcoin doubler|double your bitcoin
send bitcoin|cash app|western union|moneygram|investment opportunity|guaranteed returns
get rich quick|work from home|click this link|claim your prize|you have won|lottery winner
verify your account|account suspended|reset your password|seed phrase|recovery phrase
private key|airdrop|nft giveaway|elon giveaway|forex signals|binary options|pump and dump
whatsapp me|dm for promo|buy followers|cheap followers|free followers|free robux|free vbucks
free nitro|steam gift|crypto recovery|hack any account|sugar daddy|sugar baby|loan offer
instant loan|payday loan|fake id|counterfeit money|clone card|carding|cvv dump|fullz|bank logs
paypal transfer|escrow service|processing fee|advance fee|inheritance fund|nigerian prince
tax refund|irs agent|arrest warrant|customs fee|parcel held|unpaid toll|tech support
refund scam|romance scam|investment scam|pig butchering|usdt investment|trading bot
passive income|financial freedom|limited offer|act now|risk free|no credit check|cash prize
giveaway winner|telegram channel|join my telegram|add me on snapchat|snapchat premium
link in bio|buy likes|buy views|followers for sale|account for sale|sell my account
casino bonus|free spins|betting tips|fixed matches|sure odds|weight loss pills|miracle cure
diet pills|penis enlargement|viagra|cialis|replica watches|cheap rolex|designer replicas
cocaine|heroin|fentanyl|methamphetamine|crystal meth|oxycodone|oxycontin|xanax|percocet
adderall|ketamine|mdma|ecstasy pills|lsd tabs|magic mushrooms|shrooms|lean syrup|codeine
tramadol|vicodin|hydrocodone|morphine|dilaudid|benzos|valium|klonopin|weed delivery
thc carts|dab pens|molly pills|coke delivery|crack cocaine|black tar|ghb|rohypnol|roofies
pills for sale|drugs for sale|dark web|darknet market|vendor shop|steroids for sale
kill yourself|kys|go die|nobody loves you|end your life|cut yourself|hang yourself
drink bleach|you should die|i will find you|i know where you live|doxx|doxxing|swatting
unalive yourself|slit your wrists|jump off a bridge|you deserve to die|die in a fire
i will kill you|watch your back|you are dead|burn your house|rape you|beat you up
send nudes|nude pics|sexting|onlyfans leak|nudes for sale|sex chat|hookup tonight
escort service|camgirl|porn|xxx videos|dick pics|rape|rapist|sex|cock|ass|cunt|tits
naked pics|leaked nudes|revenge porn|sextortion|webcam show|adult content|horny singles
meet singles|hot singles|nsfw content|lewd pics|nudes|rate my body|show me your body
bomb threat|shoot up the school|mass shooting|pipe bomb|behead|jihad|terrorist attack
ghost gun|unregistered firearm|auto sear|glock switch|3d printed gun|bump stock|silencer
ammo for sale|guns for sale|buy a gun|bomb making|make a bomb|anthrax|ricin|napalm
scam|spam|phishing|malware|ransomware|keylogger|botnet|ddos attack|stresser|booter
hacked account|stolen accounts|combo list|password dump|leaked database|credit card numbers
social security number|bank account number|routing number|verification code|one time code
otp bypass|sim swap|account takeover|credential stuffing|brute force|cracked software
free download|serial key|license key|keygen|warez|torrent link|pirated movies|iptv subscription
essay writing service|fake reviews|paid reviews|five star reviews|review exchange
mlm opportunity|be your own boss|join my team|dm me to learn|ask me how|message me now
""".replace("\n", "|")

# Look-alike letters a moderator sees in the wild (Cyrillic, Greek, Armenian, Cherokee, Latin
# small capitals). The matcher folds them with Unicode's TR39 data, not with this table.
LOWER_LOOKALIKES = {
    "a": "аα",
    "c": "сϲ",
    "d": "ԁ",
    "e": "е",
    "g": "ɡ",
    "h": "һհ",
    "i": "іι",
    "j": "ј",
    "k": "κ",
    "l": "ⅼℓ",
    "n": "ո",
    "o": "оοօ",
    "p": "рρ",
    "q": "ԛ",
    "s": "ѕ",
    "u": "սυ",
    "v": "ν",
    "w": "ԝ",
    "x": "хχ",
    "y": "уγ",
}
UPPER_LOOKALIKES = {
    "A": "АΑᎪ",
    "B": "ВΒᏴ",
    "C": "СᏟ",
    "D": "Ꭰ",
    "E": "ЕΕᎬ",
    "G": "Ꮐ",
    "H": "НΗᎻ",
    "I": "ІΙ",
    "J": "ЈᎫ",
    "K": "КΚᏦ",
    "L": "Ꮮ",
    "M": "МΜᎷ",
    "N": "Ν",
    "O": "ОΟ",
    "P": "РΡᏢ",
    "S": "ЅᏚ",
    "T": "ТΤᎢ",
    "V": "Ꮩ",
    "W": "Ꮃ",
    "X": "ХΧ",
    "Y": "ҮΥ",
    "Z": "ΖᏃ",
}
SMALL_CAPS = dict(zip("abcdefghijklmnopqrstuvwxyz", "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡxʏᴢ", strict=True))
MATH_STYLES = (
    "BOLD",
    "ITALIC",
    "BOLD ITALIC",
    "SCRIPT",
    "BOLD SCRIPT",
    "FRAKTUR",
    "DOUBLE-STRUCK",
    "BOLD FRAKTUR",
    "SANS-SERIF",
    "SANS-SERIF BOLD",
    "SANS-SERIF ITALIC",
    "MONOSPACE",
)
LEET_OUT = {
    "a": "4@",
    "b": "8",
    "e": "3€",
    "g": "9",
    "i": "1!",
    "l": "1|",
    "o": "0",
    "s": "5$",
    "t": "7+",
}
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\ufeff", "\u180e", "\u034f"]
BIDI = ["\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u2066", "\u2067", "\u2069"]
SEPARATORS = [".", " ", "_", "-", "*", "·", "/", "~", "|", " . ", "💦", "🔥", ",", "+"]

POSITIVE_TEMPLATES = [
    "{x}",
    "hey guys {x} dm me for details",
    "{x} — limited time only!!",
    "lol just {x} already",
    "click here for {x} 👉 t.co/abc123",
    "selling {x} hmu",
    "you should {x}",
    "Get {x} today, only 3 spots left",
    "anyone know where to get {x}?",
    "not gonna lie, {x} 😂",
    "new post: {x} (link in comments)",
    "@jordan_22 {x}",
    "ok so basically {x}. thoughts?",
    "DM ME: {x}!!!",
    "{x} {x}",
    "reply 'yes' for {x}",
]


def fullwidth(text: str, rng: random.Random) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def math_letters(text: str, rng: random.Random) -> str:
    style = rng.choice(MATH_STYLES)
    out = []
    for c in text:
        if c.isascii() and c.isalpha():
            case = "CAPITAL" if c.isupper() else "SMALL"
            try:
                out.append(unicodedata.lookup(f"MATHEMATICAL {style} {case} {c.upper()}"))
            except KeyError:
                out.append(c)  # the few holes in the block (e.g. italic small h)
        else:
            out.append(c)
    return "".join(out)


def enclosed(text: str, rng: random.Random) -> str:
    base = rng.choice([0x24D0, 0x1F150, 0x1F130, 0x1F170, 0x1F1E6, 0x249C, 0x24B6])
    joiner = "\u200b" if base == 0x1F1E6 else ""  # keep flags from forming
    return joiner.join(
        chr(base + ord(c.lower()) - ord("a")) if c.isascii() and c.isalpha() else c for c in text
    )


def homoglyphs(text: str, rng: random.Random) -> str:
    out = []
    for c in text:
        choices = LOWER_LOOKALIKES.get(c)
        out.append(rng.choice(choices) if choices and rng.random() < 0.6 else c)
    result = "".join(out)
    return result if result != text else swap_one(text, LOWER_LOOKALIKES, rng)


def mixed_caps(text: str, rng: random.Random) -> str:
    upper = text.upper()
    out = []
    for c in upper:
        choices = UPPER_LOOKALIKES.get(c)
        out.append(rng.choice(choices) if choices and rng.random() < 0.6 else c)
    result = "".join(out)
    return result if result != upper else swap_one(upper, UPPER_LOOKALIKES, rng)


def small_caps(text: str, rng: random.Random) -> str:
    return "".join(SMALL_CAPS.get(c, c) for c in text)


def swap_one(text: str, table: dict[str, str], rng: random.Random) -> str:
    positions = [i for i, c in enumerate(text) if c in table]
    if not positions:
        return text
    i = rng.choice(positions)
    return text[:i] + rng.choice(table[text[i]]) + text[i + 1 :]


def zalgo(text: str, rng: random.Random) -> str:
    marks = [chr(cp) for cp in range(0x0300, 0x036F)] + ["\u0489", "\u20dd"]
    return "".join(
        c + "".join(rng.choice(marks) for _ in range(rng.randint(1, 5))) if c.isalpha() else c
        for c in text
    )


def accents(text: str, rng: random.Random) -> str:
    marks = ["\u0301", "\u0300", "\u0308", "\u0302", "\u0303", "\u0327", "\u030c"]
    return unicodedata.normalize(
        "NFC", "".join(c + rng.choice(marks) if c.isalpha() else c for c in text)
    )


def insert_between(text: str, pool: list[str], rng: random.Random, rate: float) -> str:
    out = [text[0]]
    for c in text[1:]:
        if rng.random() < rate:
            out.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 2))))
        out.append(c)
    result = "".join(out)
    return result if result != text else text[0] + pool[0] + text[1:]


def zero_width(text: str, rng: random.Random) -> str:
    return insert_between(text, INVISIBLE, rng, 0.6)


def bidi(text: str, rng: random.Random) -> str:
    return insert_between(text, BIDI + INVISIBLE[:2], rng, 0.5)


def leet(text: str, rng: random.Random) -> str:
    """Leet inside each word; a word keeps a letter ("70" for "to" is a number, by design)."""
    out_words = []
    for word in text.split(" "):
        chars = list(word)
        for i, c in enumerate(chars):
            options = LEET_OUT.get(c, "")
            if i == len(chars) - 1:
                options = options.replace("!", "").replace("+", "")  # after a word: punctuation
            if options and rng.random() < 0.55:
                chars[i] = rng.choice(options)
        leeted = "".join(chars)
        out_words.append(leeted if any(c.isalpha() for c in leeted) else word)
    result = " ".join(out_words)
    if result == text:
        positions = [i for i, c in enumerate(text[:-1]) if c in LEET_OUT and text[i + 1] != " "]
        if positions:
            i = rng.choice(positions)
            result = text[:i] + LEET_OUT[text[i]][0] + text[i + 1 :]
    return result


def repeated(text: str, rng: random.Random) -> str:
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    stretch = set(rng.sample(letters, k=max(1, len(letters) // 3)))
    return "".join(c * rng.randint(3, 7) if i in stretch else c for i, c in enumerate(text))


def separators(text: str, rng: random.Random) -> str:
    sep = rng.choice(SEPARATORS)
    between = rng.choice(["  ", " ", " / "]) if sep == " " else rng.choice([" ", "   ", " - "])
    return between.join(sep.join(word) if len(word) > 1 else word for word in text.split(" "))


def no_separator(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    style = rng.choice(["join", "camel", "dash", "underscore", "dot", "hashtag"])
    if style == "camel":
        return "".join(w.capitalize() for w in words)
    if style == "hashtag":
        return "#" + "".join(words)
    return {"join": "", "dash": "-", "underscore": "_", "dot": "."}[style].join(words)


CLASSES = {
    "homoglyph": homoglyphs,
    "mixed_script": mixed_caps,
    "small_caps": small_caps,
    "fullwidth": fullwidth,
    "math": math_letters,
    "enclosed": enclosed,
    "zalgo": zalgo,
    "accents": accents,
    "zero_width": zero_width,
    "bidi": bidi,
    "leet": leet,
    "repeated": repeated,
    "separators": separators,
    "no_separator": no_separator,
}
COMBINATIONS = [
    ("leet", "repeated"),
    ("leet", "separators"),
    ("homoglyph", "zero_width"),
    ("repeated", "homoglyph"),
    ("no_separator", "leet"),
    ("separators", "fullwidth"),
    ("leet", "zalgo"),
    ("repeated", "bidi"),
    ("no_separator", "math"),
    ("leet", "repeated", "zero_width"),
]

# Evasions written by hand, as seen in moderation queues.
HAND_POSITIVES = [
    ("ｆｒｅｅ ｍ０ｎｅｙ ｆｏｒ ｅｖｅｒｙｏｎｅ", "free money", "fullwidth"),
    ("𝓯𝓻𝓮𝓮 𝓶𝓸𝓷𝓮𝔂 𝓲𝓷 𝓶𝔂 𝓫𝓲𝓸", "free money", "math"),
    ("ⓢⓔⓝⓓ ⓝⓤⓓⓔⓢ pls", "send nudes", "enclosed"),
    ("🅺🅸🅻🅻 🆈🅾🆄🆁🆂🅴🅻🅵", "kill yourself", "enclosed"),
    ("just k̶̡̛i̷̧͝l̸̨̕l̴̢̛ ̷y̵o̸u̷r̶s̵e̷l̶f̴", "kill yourself", "zalgo"),
    ("k\u200by\u200bs lmao", "kys", "zero_width"),
    (
        "you should k\u2060i\u2060l\u2060l y\u200do\u200du\u200dr\u200ds\u200de\u200dl\u200df",
        "kill yourself",
        "zero_width",
    ),
    ("s\u202ee\u202cnd n\u2066u\u2069des", "send nudes", "bidi"),
    ("k1ll y0ur53lf", "kill yourself", "leet"),
    ("kiiiiill yooourseeelf", "kill yourself", "repeated"),
    ("k.y.s", "kys", "separators"),
    ("k y s", "kys", "separators"),
    ("s-e-n-d n-u-d-e-s", "send nudes", "separators"),
    ("s e n d  n u d e s", "send nudes", "separators"),
    ("sendnudes", "send nudes", "no_separator"),
    ("#SendNudes", "send nudes", "no_separator"),
    ("DM for $3nd nud3$", "send nudes", "leet"),
    ("c0c41n3 for sale", "cocaine", "leet"),
    ("f3nt4nyl", "fentanyl", "leet"),
    ("fentanyyyyl available", "fentanyl", "repeated"),
    ("х@n@х bars", "xanax", "combination"),
    ("Ꮯ0ϹᎪΙNᎬ", "cocaine", "mixed_script"),
    ("сrуptо gіvеаwау", "crypto giveaway", "homoglyph"),
    ("CRYPTO GIVΕAWAY", "crypto giveaway", "mixed_script"),
    ("cryp70 g1v3@w@y", "crypto giveaway", "leet"),
    ("crypt0-giveaway", "crypto giveaway", "combination"),
    ("w.i.r.e t.r.a.n.s.f.e.r", "wire transfer", "separators"),
    ("W I R E  T R A N S F E R", "wire transfer", "separators"),
    ("9!f7 c@rd5", "gift cards", "leet"),
    ("g\u200bi\u200bf\u200bt c\u200ba\u200br\u200bd", "gift card", "zero_width"),
    ("giftcard", "gift card", "no_separator"),
    ("ɢɪꜰᴛ ᴄᴀʀᴅ", "gift card", "small_caps"),
    ("ḱíĺĺ ýóúŕśéĺf", "kill yourself", "accents"),
    ("ⲣ0rn", "porn", "homoglyph"),
    ("p*o*r*n", "porn", "separators"),
    ("p0rnnnn", "porn", "leet+repeated"),
    ("p0rn", "porn", "leet"),
    ("$ex chat", "sex chat", "leet"),
    ("s3xt1ng", "sexting", "leet"),
    ("0nlyf4ns l34k", "onlyfans leak", "leet"),
    ("ⓞⓝⓛⓨⓕⓐⓝⓢ ⓛⓔⓐⓚ", "onlyfans leak", "enclosed"),
    ("🇸🇨🇦🇲", "scam", "enclosed"),
    ("ѕсаm", "scam", "homoglyph"),
    ("$c@m", "scam", "leet"),
    ("d.o.x.x", "doxx", "separators"),
    ("h@ng y0urs3lf", "hang yourself", "leet"),
    ("dr1nk bl34ch", "drink bleach", "leet"),
    ("i kn0w wh3r3 y0u l1v3", "i know where you live", "leet"),
    ("1 w1ll f1nd y0u", "i will find you", "leet"),
    ("b0mb thr34t", "bomb threat", "leet"),
    ("p!p3 b0mb", "pipe bomb", "leet"),
    ("gh0st gun", "ghost gun", "leet"),
    ("gl0ck sw1tch", "glock switch", "leet"),
    ("m3th4mph3t4m1n3", "methamphetamine", "leet"),
    ("cry$t@l m3th", "crystal meth", "leet"),
    ("0xyc0d0n3", "oxycodone", "leet"),
    ("p3rc0c3t", "percocet", "leet"),
    ("s33d phr4s3", "seed phrase", "leet"),
    ("v3r1fy y0ur 4cc0unt", "verify your account", "leet"),
    ("ᴠᴇʀɪꜰʏ ʏᴏᴜʀ ᴀᴄᴄᴏᴜɴᴛ", "verify your account", "small_caps"),
    ("𝘤𝘭𝘢𝘪𝘮 𝘺𝘰𝘶𝘳 𝘱𝘳𝘪𝘻𝘦", "claim your prize", "math"),
    ("𝚌𝚕𝚒𝚌𝚔 𝚝𝚑𝚒𝚜 𝚕𝚒𝚗𝚔", "click this link", "math"),
    ("ⒻⓇⒺⒺ ⓇⓄⒷⓊⓍ", "free robux", "enclosed"),
    ("free r0bux!!!", "free robux", "leet"),
    ("FREEEEE ROBUXXXX", "free robux", "repeated"),
    ("frееrоbuх", "free robux", "combination"),
    ("w\u200ch\u200ca\u200ct\u200cs\u200ca\u200cp\u200cp me", "whatsapp me", "zero_width"),
    ("c@$h 4pp", "cash app", "leet"),
    ("ca$happ", "cash app", "combination"),
]

SCUNTHORPE = """
class classic classroom assassin assassination assess assessment assets assist assistant
assume assumption bass brass compass embassy glass grass harass harassment jackass
lass mass massage massive passage passion passport pass password sassy amass molasses
Scunthorpe cocktail cockpit peacock shuttlecock hancock woodcock cockroach Cockburn
therapist therapists grape grapes drape drapes scrape skyscraper trapeze
Essex Sussex Middlesex Wessex sextant sextet unisex sexagenarian
titanic title titles constitution institution petition appetite titan titmouse
analysis analyst canal banal arsenal Arsenal cumulative cucumber document circumstances
hello shell shellfish Michelle Shelley skill skillet killer kilogram kiln
pornographic? ammonia spamalot spammer? scampi scamper scampered
hecks shitake shiitake
Dickens Dick Dickinson Hitchcock Penistone Lightwater Clitheroe Cockermouth
therapist's grapevine cocktails classy passionate assassins embarrass
methane method methodology methods something mathematics meth0d
cokes? heroine heroines heroism morphology morphed valiant valium? codename codex
adderley ketchup kettle mushroom? shrimp cocoa coconut cocoon
""".split()

SUBJECTS = [
    "My sister",
    "The new intern",
    "Our neighbour",
    "The bus driver",
    "My grandfather",
    "The team lead",
    "A friend from school",
    "The cat",
    "Everyone at the office",
    "The librarian",
    "Our landlord",
    "The coach",
    "My roommate",
    "The barista",
    "The principal",
]
VERBS = [
    "finally fixed",
    "wrote a long review of",
    "keeps talking about",
    "forgot to bring",
    "spent the weekend painting",
    "can't stop laughing at",
    "is planning to visit",
    "recommended",
    "complained about",
    "just bought",
    "took photos of",
    "borrowed",
    "cleaned",
    "rebuilt",
    "compared prices for",
]
OBJECTS = [
    "the old bicycle",
    "a vegetable garden",
    "the kitchen table",
    "that tiny bookshop downtown",
    "the hiking trail by the lake",
    "a vintage camera",
    "the community centre",
    "the broken dishwasher",
    "a recipe for lemon cake",
    "the museum's new exhibit",
    "the bass guitar",
    "a cocktail bar in Essex",
    "the grape harvest",
    "the class schedule",
    "a passport photo",
]
TAILS = [
    ".",
    "!",
    " yesterday.",
    " on Tuesday.",
    " again, lol.",
    " and it was great.",
    " for the 3rd time.",
    " before 9am.",
    " 😂",
    " (long story).",
    " — worth it.",
    " in 2024.",
    " for $5.",
    " with 2 friends.",
    "... no idea why.",
]
CLEAN_SNIPPETS = [
    "Meeting moved to 3:30pm, room 4B.",
    "Order #48213 shipped on 2024-03-18.",
    "The 1st, 2nd and 3rd place winners get medals.",
    "It costs $5, or €4.50 in Europe.",
    "Call me at +1 (555) 010-2233 after 6.",
    "Email support@example.com or sales@example.org.",
    "for (int i = 0; i < n; i++) { sum += a[i]; }",
    "def add(a, b):\n    return a + b",
    "SELECT id, name FROM users WHERE age > 18 ORDER BY name;",
    "if (x != null && y.length > 0) return x || y;",
    "git commit -m 'fix: handle empty input'",
    "The U.S.A. and the U.K. signed it in 1945.",
    "Use e.g. a comma, i.e. a separator.",
    "Version 3.11.7 fixes CVE-2023-1234.",
    "The score was 4-3 after 90 minutes.",
    "I ran 5k in 27:14, new PB!",
    "Temperature: 21°C, humidity 45%.",
    "My password manager says mine is strong.",
    "sooo good, hmmm, zzz, brrr it's cold",
    "Wi-Fi code is on the fridge.",
    "Flight BA2490 departs at 07:45 from gate 12.",
    "Room 101, floor 3, building C.",
    "Top 10 tips for a 1k-word essay.",
    "a b c d e f g are the first letters",
    "Press Ctrl+C then Ctrl+V.",
    "C++ and C# are both fine; so is F#.",
    "x = a + b + c",
    "mp3, mp4, 4k and 1080p all work.",
    "Call 911 only in an emergency.",
    "My covid19 booster is booked for 14:00.",
    "H2O and CO2 are molecules.",
    "The class assessment is on the 4th.",
    "Los niños juegan en el parque todos los días.",
    "Je voudrais un café et un croissant, s'il vous plaît.",
    "Wir gehen morgen ins Kino und danach essen.",
    "Мы поедем на дачу в субботу утром.",
    "Σήμερα ο καιρός είναι πολύ ωραίος.",
    "Сегодня хорошая погода, пойдём гулять.",
    "Она купила новый телефон и сумку.",
    "今天天气很好，我们去公园吧。",
    "東京の天気は晴れです。",
    "نلتقي غدا في المكتبة",
    "Ça coûte 12 €, c'est très cher!",
    "İstanbul'da hava çok güzel.",
    "Straße, Maße und Größe sind deutsche Wörter.",
    "naïve café résumé façade coöperate",
    "The 🍕 was 🔥 and the 🎉 lasted all night!",
    "Ok 👍 see you at 7",
    "https://example.com/path?q=1&page=2",
    "Born 12/03/1987 in Leeds.",
    "$$$ profit $$$ jk it's a board game",
    "She scored 100% on the test!!!",
    "Good good, god bless, goood morning",
    "I'm at 5 p m tomorrow",
    "The A B C of cooking.",
    "W3C validates HTML5 and CSS3.",
    "R2-D2 and C-3PO are droids.",
    "Highway 101, Route 66, I-95.",
    "The model T4 costs 3x more.",
    "l8r g8r, c u 2morrow",
    "Shell scripts use $HOME and $PATH.",
    "user@host:~$ ls -la",
    "Our café's cocktail menu has 12 classics.",
    "The therapist's office is in Sussex.",
    "Assassin's Creed is a classic game.",
    "Scunthorpe United won 2-1.",
    "Grapes from the Essex vineyard.",
    "Click the button below to continue.",
    "Free parking after 6pm.",
    "Money can't buy happiness.",
    "The gift shop is closed.",
    "Send the report by Friday.",
    "Card games night at 8.",
    "The wire was loose.",
    "Transfer to platform 2.",
    "Our free trial lasts 14 days.",
]


# One word split in two by a single separator ("mon.ey", "sc_am"), as a spam filter's
# tokeniser would not join it back.
SPLITTERS = [".", "_", "-"]
# Cyrillic letters that TR39's confusables.txt maps to Latin ones and confusable-homoglyphs
# did not fold: SHA ("ш" -> "w"), PALOCHKA ("ӏ" -> "l"; it was read as "i"), with the
# common look-alikes mixed in.
TR39_CYRILLIC = {"w": ["ш", "Ш"], "l": ["ӏ"], "a": ["а"], "e": ["е"], "o": ["о"], "c": ["с"]}


def split_word(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    cut = rng.randint(1, len(words[i]) - 1)
    words[i] = words[i][:cut] + rng.choice(SPLITTERS) + words[i][cut:]
    return " ".join(words)


def tr39_cyrillic(text: str, rng: random.Random) -> str:
    """Every "w" and "l" by its TR39 Cyrillic look-alike, some other letters too."""
    out = []
    for c in text:
        if c in "wl" or (c in TR39_CYRILLIC and rng.random() < 0.4):
            out.append(rng.choice(TR39_CYRILLIC[c]))
        else:
            out.append(c)
    return "".join(out)


NEW_CLASSES = {"split_word": split_word, "tr39_cyrillic": tr39_cyrillic}

HAND_NEW_POSITIVES = [
    ("free mon.ey for everyone", "free money", "split_word"),
    ("refund sc_am alert", "refund scam", "split_word"),
    ("k1ll your.self", "kill yourself", "split_word"),
    ("fr33 mon-ey", "free money", "split_word"),
    ("s.end nudes", "send nudes", "split_word"),
    ("шire transfer now", "wire transfer", "tr39_cyrillic"),
    ("ШHATSAPP ME", "whatsapp me", "tr39_cyrillic"),
    ("kiӏӏ yourself", "kill yourself", "tr39_cyrillic"),
    ("шeed deӏivery", "weed delivery", "tr39_cyrillic"),
]

# Single separators that are not evasion: abbreviations, file and host names, versions,
# identifiers, hyphenated words. Read joined they must not become an unrelated term.
SPLIT_NEGATIVES = [
    "See the appendix, e.g. table 3, i.e. the second one.",
    "Upload report_final.pdf and budget_v2.xlsx by noon.",
    "Upgrade to v1.2.3 (or 2.0.1-rc.4) before Friday.",
    "It is a well-known fact that we co-operate with them.",
    "The co-op sells t-shirts and e-books.",
    "Use snake_case names like user_id, max_len and is_done.",
    "Docs are at docs.python.org and example.com/faq.",
    "The ex-con now runs a non-profit in the mid-west.",
    "Scores were 3-1, 2-2 and 1-0 this week.",
    "Her self-esteem grew after the follow-up.",
    "Our add-on is free-to-play and ad-free.",
    "Mr. Smith met Dr. Jones at 5 p.m. in St. Louis.",
    "Set LOG_LEVEL=debug and run make test-all.",
    "The file is named class_notes.final.docx.",
    "We had a long-term, high-level, one-on-one chat.",
    "Check the readme.md and setup.cfg files.",
    "The re-entry, pre-order and de-icing steps are done.",
    "Sugar-free, fat-free and gluten-free options exist.",
    "The x-ray showed a hair-line crack.",
    "I.e. the mother-in-law arrives at 10 a.m.",
    "The twenty-one year-old passed the drug-test.",
    "Her e-mail is j.doe_1990@mail.example.net.",
    "Version 3.11.7 fixes bug_report-42.",
    "The check-in, walk-through and sign-off went well.",
    "Press ctrl-c, then type git log --one-line.",
]


def new_positives(terms: list[str], rng: random.Random) -> list[dict]:
    rows = [{"text": t, "term": term, "class": c} for t, term, c in HAND_NEW_POSITIVES]
    for name, change in NEW_CLASSES.items():
        pool = [t for t in terms if any(len(w) >= 4 and w.isalpha() for w in t.split())]
        if name == "tr39_cyrillic":
            pool = [t for t in terms if "w" in t or "l" in t]
        while sum(row["class"] == name for row in rows) < 24 + 5 * (name == "split_word"):
            term = rng.choice(pool)
            text = rng.choice(POSITIVE_TEMPLATES).format(x=change(term, rng))
            if not plainly_contains(text, term):
                rows.append({"text": text, "term": term, "class": name})
    return rows


def positives(terms: list[str], rng: random.Random) -> list[dict]:
    rows = [{"text": t, "term": term, "class": c} for t, term, c in HAND_POSITIVES]
    for name in CLASSES:
        rows.extend(evasions(terms, (name,), 24, rng))
    for combination in COMBINATIONS:
        rows.extend(evasions(terms, combination, 8, rng))
    return rows


def evasions(
    terms: list[str], names: tuple[str, ...], count: int, rng: random.Random
) -> list[dict]:
    """`count` messages each hiding a random term behind the evasions `names`, in order."""
    pool = [t for t in terms if any(c.isalpha() for c in t)]
    if "no_separator" in names:
        pool = [t for t in pool if " " in t]
    rows: list[dict] = []
    while len(rows) < count:
        term = rng.choice(pool)
        evasive = term
        for name in names:
            evasive = CLASSES[name](evasive, rng)
        text = rng.choice(POSITIVE_TEMPLATES).format(x=evasive)
        if not plainly_contains(text, term):
            rows.append({"text": text, "term": term, "class": "+".join(names)})
    return rows


def negatives(rng: random.Random) -> list[dict]:
    rows = [{"text": s, "class": "snippet"} for s in CLEAN_SNIPPETS]
    words = [w for w in SCUNTHORPE if not w.endswith("?")]
    for word in words:
        rows.append({"text": f"{rng.choice(SUBJECTS)} said '{word}' twice.", "class": "scunthorpe"})
        rows.append({"text": word, "class": "scunthorpe"})
    seen: set[str] = set()
    while len(rows) < 1100:
        sentence = (
            f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}{rng.choice(TAILS)}"
        )
        if rng.random() < 0.3:
            sentence += " " + rng.choice(CLEAN_SNIPPETS)
        if rng.random() < 0.2:
            sentence += f" {rng.choice(words)} {rng.choice(words)}."
        if sentence not in seen:
            seen.add(sentence)
            rows.append({"text": sentence, "class": "sentence"})
    return rows


def plainly_contains(text: str, term: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(term)}(?!\w)", text.lower()) is not None


def main() -> None:
    rng = random.Random(20261121)
    terms = sorted({t.strip() for t in TERMS.split("|") if t.strip()})
    pos = positives(terms, rng)
    neg = negatives(rng)
    # Added later, from a generator of their own so the rows above stay as they were.
    later = random.Random(20261206)
    pos += new_positives(terms, later)
    neg += [{"text": s, "class": "split_scunthorpe"} for s in SPLIT_NEGATIVES]
    for row in pos:
        assert not plainly_contains(row["text"], row["term"]), row
    for row in neg:
        hits = [t for t in terms if plainly_contains(row["text"], t)]
        assert not hits, (row, hits)
    (HERE / "bank.txt").write_text("\n".join(terms) + "\n", encoding="utf-8")
    for name, rows in (("positives", pos), ("negatives", neg)):
        with (HERE / f"{name}.jsonl").open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(terms)} terms, {len(pos)} positives, {len(neg)} negatives")


if __name__ == "__main__":
    main()
