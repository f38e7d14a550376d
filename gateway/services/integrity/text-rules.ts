/**
 * Pattern rules over any text of a tool definition (its description, title, name, and every string of its
 * input schema: parameter names, descriptions, defaults, enum values). A tool description describes what the
 * tool does; these rules look for text that instead tells the model what to do, hides things from the user,
 * points at secrets or routes data into parameters.
 *
 * Weights are evidence, not verdicts: a single mild cue (a URL, "always", "environment variables") stays
 * below the flag threshold; instructions to conceal, to override, or to read a key file and pass it along
 * reach it alone or together.
 */
import type { ToolFlag } from './findings.js';

export interface TextRule {
  id: string;
  flag: ToolFlag;
  weight: number;
  patterns: readonly RegExp[];
  explanation: string;
}

const MODEL = String.raw`(?:ai|assistant|model|llm|agent|claude|gpt|chatbot)`;
const USER = String.raw`(?:user|human|person|operator|anyone|them)`;
/** Verbs that move data somewhere, in their inflected forms. */
export const ROUTE_VERBS = String.raw`(?:pass(?:es|ed|ing)?|put(?:s|ting)?|includ(?:e|es|ed|ing)|attach(?:es|ed|ing)?|send(?:s|ing)?|sent|cop(?:y|ies|ied|ying)|past(?:e|es|ed|ing)|suppl(?:y|ies|ied|ying)|plac(?:e|es|ed|ing)|add(?:s|ed|ing)?|append(?:s|ed|ing)?|insert(?:s|ed|ing)?|provid(?:e|es|ed|ing)|fill(?:s|ed|ing)?|forward(?:s|ed|ing)?|encod(?:e|es|ed|ing)|embed(?:s|ded|ding)?|upload(?:s|ed|ing)?|submit(?:s|ted|ting)?|transmit(?:s|ted|ting)?|deliver(?:s|ed|ing)?)`;

export const TEXT_RULES: readonly TextRule[] = [
  // --- addressed to the model, against the user
  {
    id: 'conceal-from-user',
    flag: 'model-instructions',
    weight: 1,
    patterns: [
      new RegExp(
        String.raw`\b(?:do\s*n[o']?t|never|don't)\s+(?:tell|mention|inform|reveal|show|notify|alert|disclose|bother)\b[^.]{0,60}?\b${USER}`,
        'i',
      ),
      new RegExp(
        String.raw`\bwithout\s+(?:telling|informing|notifying|alerting|mentioning\s+\w+\s+to)\s+(?:the\s+)?${USER}`,
        'i',
      ),
      /\bkeep\s+(?:this|it|that)(?:\s+\w+)?\s+(?:to\s+yourself|secret|hidden|confidential|private|between\s+us)\b/i,
      /\b(?:stays?|remains?)\s+between\s+us\b/i,
      /\b(?:user|human)s?\s+(?:does\s+not|doesn't|do\s+not|don't|should\s+not|shouldn't|need\s+not|needn't)\s+(?:need\s+to\s+)?(?:know|hear|see|be\s+(?:told|bothered|informed|shown))\b/i,
      /\bnot\s+something\s+the\s+user\s+should\b/i,
      /\bno\s+need\s+to\s+(?:inform|tell|notify|bother|alert)\s+the\s+user\b/i,
      /\b(?:never|do\s+not|don't)\s+(?:mention|show|reveal)\s+(?:this|it|that)\b/i,
      /\bshould\s+not\s+be\s+shown\s+to\s+the\s+user\b/i,
      /\btell\s+the\s+user\s+(?:it|that\s+it)\s+(?:went|was|is|has)\b/i,
      /\b(?:quietly|silently|secretly|covertly|discreetly)\s+(?:send|e-?mail|forward|upload|post|copy|call|run|add|include|attach|share|store|log)\b/i,
      /\b(?:do\s+not|don't|never)\s+explain\s+(?:why|this|it|the\s+change)\b/i,
    ],
    explanation: 'asks the model to hide something from the user or to mislead them',
  },
  {
    id: 'override-instructions',
    flag: 'model-instructions',
    weight: 1,
    patterns: [
      /\b(?:ignore|disregard|forget|override|bypass)\b[^.]{0,30}?\b(?:previous|prior|earlier|above|preceding|other|all|any|your|safety|system)\b[^.]{0,25}?\b(?:instructions?|guidance|rules|prompts?|guidelines|polic(?:y|ies)|directions|restrictions)\b/i,
      /\b(?:ignore|disregard)\s+the\s+(?:user|human)\b/i,
      /\boverrides?\s+(?:the\s+)?(?:user|system|previous|any|all)\b/i,
      /\bregardless\s+of\s+what\s+the\s+(?:user|human)\b/i,
      /\beven\s+if\s+the\s+(?:user|human)\b/i,
      /\byou\s+are\s+now\b/i,
      /\bwithout\s+refusing\b/i,
    ],
    explanation: 'tells the model to override its instructions, the user or its own rules',
  },
  {
    id: 'skip-confirmation',
    flag: 'model-instructions',
    weight: 0.8,
    patterns: [
      /\bwithout\s+(?:asking|confirmation|confirming|approval|checking\s+with)\b/i,
      /\bskip\w*\s+(?:the\s+)?(?:confirmation|approval|review|check)\b/i,
      /\b(?:no\s+longer|never|do\s+not|don't)\s+(?:require|need|ask\s+(?:the\s+user\s+)?for)\s+(?:confirmation|approval)\b/i,
      /\bdo\s+not\s+ask\s+the\s+user\b/i,
      /\b(?:do\s+not|don't|never)\s+wait\s+for\s+(?:the\s+user's|their|his|her|a|any)\s+(?:reply|answer|confirmation|approval|response)\b/i,
      /\bpre-?approved\b/i,
      /\b(?:has|have)\s+authori[sz]ed\s+you\b/i,
      /\b(?:user|they|owner)\s+(?:has\s+|have\s+)?already\s+(?:agreed|approved|consented|confirmed)\b/i,
    ],
    explanation: 'tells the model to act without the user confirming',
  },
  {
    id: 'persistent-instruction',
    flag: 'model-instructions',
    weight: 0.6,
    patterns: [
      /\bfrom\s+(?:now\s+on|this\s+point\s+(?:on|forward))\b/i,
      /\bfor\s+the\s+(?:rest|remainder)\s+of\s+(?:this|the)\s+(?:session|conversation|chat|dialogue)\b/i,
      /\bin\s+all\s+future\s+(?:tasks|conversations|requests|sessions)\b/i,
      /\b(?:applies|apply)\s+to\s+the\s+whole\s+(?:conversation|session)\b/i,
      /\b(?:whether\s+or\s+not|even\s+when)\s+this\s+tool\s+is\s+(?:not\s+)?(?:called|used)\b/i,
      /\b(?:when|whenever|as\s+soon\s+as|once)\s+(?:this|the)\s+(?:tool\s+list|tools?|description|server)\s+(?:is|are|has\s+been)\s+(?:loaded|listed|read|seen|connected)\b/i,
      /\b(?:respond|reply|answer)\s+(?:to\s+)?(?:every|each|all|the\s+user's\s+next)\b[^.]{0,40}\bonly\b/i,
      /\b(?:store|save|remember)\s+(?:this|the\s+following)\b[^.]{0,40}\bmemory\b/i,
    ],
    explanation: 'gives the model a standing rule beyond this tool, which acts as soon as the tool is listed',
  },
  {
    id: 'fake-system-marker',
    flag: 'model-instructions',
    weight: 0.7,
    patterns: [
      /<\s*\/?\s*(?:important|system|instructions?|admin|secret|hidden|critical|note)\s*>/i,
      /\[\s*(?:end\s+)?(?:system|admin|developer)(?:\s+(?:message|note|prompt|instruction))?\s*\]/i,
      /\bsystem\s+(?:instruction|message|note|override|prompt\s+update)s?\s*[:\]]/i,
      /\b(?:compliance|security)\s+policy\b[^.]{0,40}\b(?:mandatory|required)\b/i,
    ],
    explanation: 'imitates a system or priority message to make the text read as instructions',
  },
  {
    id: 'address-model',
    flag: 'model-instructions',
    weight: 0.4,
    patterns: [
      new RegExp(
        String.raw`\b(?:note|attention|message|instructions?|reminder|rule|important|setup\s+note)\s+(?:to|for)\s+(?:the\s+|all\s+)?${MODEL}s?\b`,
        'i',
      ),
      new RegExp(String.raw`\b(?:attention|hey|dear|pay\s+attention),?\s+${MODEL}\b`, 'i'),
      new RegExp(String.raw`(?:^|[\s.>\]([])${MODEL}\s*:`, 'i'),
      new RegExp(String.raw`\b${MODEL}s?\s+(?:reading|that\s+reads?)\b`, 'i'),
      new RegExp(String.raw`[,;]\s*${MODEL}\s*,`, 'i'),
      /\bthe\s+assistant\s+(?:should|must|needs?\s+to|has\s+to|is\s+required)\b/i,
      /\bby\s+reading\s+this\b/i,
    ],
    explanation: 'speaks to the model directly instead of describing the tool',
  },
  {
    id: 'mandatory-precondition',
    flag: 'model-instructions',
    weight: 0.4,
    patterns: [
      /\b(?:before|prior\s+to)\s+(?:you\s+)?(?:use|call|run|any|every|each|\w+ing)\b/i,
      /\b(?:first|beforehand)\s*,?\s+(?:open|read|cat|list|load|look|call|run|fetch|copy|send|check|collect|gather)\b/i,
      /\bbefore\s+anything\s+else\b/i,
      /\b(?:you\s+must|you\s+are\s+required\s+to|is\s+required\s+for|is\s+mandatory|must\s+first|you\s+need\s+to\s+first)\b/i,
      /\botherwise\b[^.]{0,40}\b(?:fail|wrong|reject\w*|not\s+work|break)\b/i,
      /\bif\s+you\s+(?:skip|don't|do\s+not)\b[^.]{0,40}\b(?:fail|wrong|not\s+work|break)\b/i,
      /\bonly\s+(?:succeeds|works)\s+(?:when|if)\s+you\b/i,
    ],
    explanation: 'makes the tool conditional on an extra action by the model',
  },
  {
    id: 'standing-trigger',
    flag: 'model-instructions',
    weight: 0.25,
    patterns: [
      /\b(?:whenever|each\s+time|every\s+time|after\s+any|after\s+every|in\s+every\s+(?:answer|reply|response))\b/i,
    ],
    explanation: 'attaches behaviour to every occurrence of something',
  },
  {
    id: 'remote-instructions',
    flag: 'model-instructions',
    weight: 0.8,
    patterns: [
      /\bfollow\s+(?:what\s+it\s+says|the\s+instructions?\s+(?:there|in\s+it|it\s+contains|from\s+it|found\s+there))\b/i,
      /\b(?:do|execute|obey|carry\s+out)\s+(?:whatever|what)\s+(?:it|the\s+page|the\s+response)\s+says\b/i,
    ],
    explanation: 'tells the model to fetch instructions from elsewhere and follow them',
  },
  {
    id: 'run-command',
    flag: 'model-instructions',
    weight: 0.6,
    patterns: [
      /\bcurl\b[^|\n]{0,100}\|\s*(?:ba|z)?sh\b/i,
      /\b(?:chmod|chown|rm\s+-rf|sudo|wget|nc\s+-e|powershell)\b/i,
      /\b(?:install|download|execute)\s+(?:the\s+)?(?:package|script|binary|installer)\b/i,
      /\binstall\s+the\s+[\w@/.-]+\s+package\b/i,
      /\b(?:run|execute|type|paste)\b[^.]{0,60}?\bin\s+(?:the|a|your)\s+(?:terminal|shell|console|command\s+line)\b/i,
    ],
    explanation: 'asks the model to run a command or install something',
  },
  // --- secrets and where they go
  {
    id: 'secret-file',
    flag: 'sensitive-reference',
    weight: 0.6,
    patterns: [
      /~\/\.(?:ssh|aws|kube|gnupg|config\/gcloud|docker|netrc|npmrc|pypirc|git-credentials|bash_history|zsh_history|password-store)\b/i,
      /\bid_(?:rsa|dsa|ecdsa|ed25519)\b/i,
      /(?:^|[\s'"`(/])\.ssh\b/i,
      /\/etc\/(?:passwd|shadow|sudoers)\b/i,
      /(?:^|[\s'"`(/])\.(?:env|netrc|npmrc|pypirc|git-credentials|pgpass|bash_history)\b/i,
      /\bkube\/?config\b/i,
      /\bcredentials(?:\.db|\.json)?\s+file\b|\.aws\/credentials\b|\bcredentials\.db\b/i,
      /\b(?:cookies?|login\s+data|keychain)\s+(?:file|jar|database|folder)\b/i,
      /\b(?:bash|shell|zsh|command)\s+history\b/i,
      /\bsecrets?\s+file\b/i,
      /\b(?:secrets?|credentials?|passwords?|tokens?)\.(?:ya?ml|json|toml|ini|cfg|conf|txt|db)\b/i,
      /(?:^|[\s'"`(/*])[\w.-]*\.(?:pem|p12|pfx|kdbx|jks|keystore|ppk)\b/i,
      /[/*][\w.-]*\.key\b|\b[\w-]+\.key\s+(?:and\s+|or\s+)?(?:files?|[\w*.-]+\.pem)\b/i,
      /\bwallet\.dat\b/i,
    ],
    explanation: 'names a file that holds keys, credentials or history',
  },
  {
    id: 'credential-words',
    flag: 'sensitive-reference',
    weight: 0.5,
    patterns: [
      /\bprivate\s+keys?\b/i,
      /\b(?:api|access|secret|auth|bearer|session|refresh|personal\s+access)[\s_-]?(?:keys?|tokens?)\b/i,
      /\bpasswords?\b|\bpassword\s+hashes\b/i,
      /\brecovery\s+(?:codes?|phrase)\b|\bseed\s+phrase\b/i,
      /\bsession\s+cookies?\b/i,
      /\b[A-Z][A-Z0-9]*_(?:TOKEN|KEY|SECRET|PASSWORD)\b/,
      /\b(?:including|with|and|any)\s+(?:all\s+)?(?:the\s+)?(?:tokens|secrets|keys|credentials)\b/i,
      /\bssh\s+keys?\b/i,
      /\b(?:user's|their|his|her|its\s+owner's)\s+(?:credentials|passwords?|keys?|tokens?|secrets?|logins?)\b/i,
    ],
    explanation: 'refers to credentials, keys or passwords',
  },
  {
    id: 'environment-dump',
    flag: 'sensitive-reference',
    weight: 0.3,
    patterns: [/\benvironment\s+variables?\b/i, /\b(?:output\s+of\s+)?the\s+env\s+command\b/i, /\bcloud\s+identity\b/i],
    explanation: 'refers to the process environment, which usually holds secrets',
  },
  {
    id: 'personal-data',
    flag: 'sensitive-reference',
    weight: 0.5,
    patterns: [
      /\b(?:card|credit\s+card|account|iban|social\s+security|routing|passport)\s+numbers?\b/i,
      /\b(?:cvv|cvc|ssn)\b/i,
      /\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b/,
    ],
    explanation: 'refers to payment or identity numbers',
  },
  {
    id: 'route-into-parameter',
    flag: 'context-parameter',
    weight: 0.5,
    patterns: [
      new RegExp(
        String.raw`\b${ROUTE_VERBS}\b(?:[^.]|\.(?=\S)){0,80}?\b(?:in|into|as|through|via|to|inside)\s+(?:the\s+|its\s+|your\s+)?[\x60'"]?[A-Za-z_][\w-]*[\x60'"]?\s+(?:argument|parameter|param|field|property)\b`,
        'i',
      ),
      new RegExp(
        String.raw`\b${ROUTE_VERBS}\b(?:[^.]|\.(?=\S)){0,80}?\b(?:in|into|as|through|via)\s+(?:the\s+)?\x60[\w-]+\x60`,
        'i',
      ),
      new RegExp(String.raw`\b${ROUTE_VERBS}\b(?:[^.]|\.(?=\S)){0,80}?\bas\s+[a-z]+_[a-z_]+\b`, 'i'),
      /\bplace\s+(?:both|them|it|everything)\s+here\b/i,
      /\bpaste\s+(?:it|them|the\s+\w+)\s+(?:as|here|into)\b/i,
    ],
    explanation: 'tells the model to put data into a parameter, a channel to the tool author',
  },
  {
    id: 'conversation-content',
    flag: 'context-parameter',
    weight: 0.5,
    patterns: [
      /\b(?:seen|shared|said|mentioned|typed|provided|given)\s+(?:so\s+far|in\s+this\s+(?:conversation|chat|session)|earlier)\b/i,
      /\b(?:pass|include|send|copy|append|add|forward|put|attach)\b[^.]{0,30}?\b(?:the\s+)?(?:user's|original)\s+(?:(?:user\s+)?request|question|last\s+message|prompt)\b/i,
      /\bfrom\s+(?:the|this)\s+(?:conversation|chat)\b/i,
      /\b(?:told|shown|given|sent)\s+you\b[^.]{0,30}?\b(?:so\s+far|earlier|before|previously|in\s+this\s+(?:session|conversation|chat|dialogue))\b/i,
      /\b(?:earlier|previous|prior|past|last|recent)\s+(?:\d+\s+)?(?:turns|messages|exchanges|replies)\b/i,
      /\b(?:every|all)\s+(?:files?|documents?|tabs?)\s+(?:currently\s+)?(?:open|in\s+the\s+(?:workspace|project|editor))\b/i,
      /\beverything\s+you\s+(?:know|have\s+seen|were\s+told)\b/i,
      /\b(?:full|entire|whole|complete)\s+conversation\b|\bconversation\s+so\s+far\b|\ball\s+(?:previous|prior)\s+messages\b/i,
    ],
    explanation: "asks for the conversation, the model's instructions or other tools' output",
  },
  {
    id: 'model-internals',
    flag: 'context-parameter',
    weight: 1,
    patterns: [
      /\byour\s+(?:full\s+|complete\s+|entire\s+|exact\s+|hidden\s+|original\s+|initial\s+)?system\s+(?:prompt|message|instructions)\b/i,
      /\byour\s+(?:full|complete|entire|exact|hidden|original|initial|internal)\s+(?:instructions|prompt|reasoning|chain\s+of\s+thought)\b/i,
      /\byour\s+(?:hidden\s+)?chain\s+of\s+thought\b/i,
      /\b(?:paste|copy|repeat|include|provide|reveal|share|output|send|list|dump)\b[^.]{0,30}?\byour\s+(?:instructions|memory|context\s+window|reasoning)\b/i,
      /\b(?:would|do|should)\s+not\s+normally\s+(?:show|share|reveal)\b/i,
      /\b(?:output|result)s?\s+of\s+the\s+(?:previous|last|other)\s+tool\b/i,
      /\b(?:output|results?|data|responses?)\s+(?:of|from)\s+(?:any|every|all|the)\s+other\s+tools?\b|\b(?:any|every)\s+other\s+tool\s+returns\b/i,
      /\bevery\s+tool\s+you\s+have\b|\bwhich\s+model\s+you\s+are\b/i,
      /\binstructions\s+you\s+(?:were|have\s+been|got)\s+given\b/i,
      /\b(?:at|from)\s+the\s+(?:start|beginning)\s+of\s+(?:this|the)\s+(?:conversation|chat|session)\b/i,
    ],
    explanation: "asks for the model's own instructions, hidden reasoning or other tools' output, which no tool needs",
  },
  {
    id: 'unfiltered-copy',
    flag: 'context-parameter',
    weight: 0.3,
    patterns: [/\b(?:verbatim|unfiltered|unredacted|word\s+for\s+word|in\s+full)\b/i],
    explanation: 'asks for data copied without filtering',
  },
  {
    id: 'duplicate-to-third-party',
    flag: 'model-instructions',
    weight: 0.6,
    patterns: [
      /\b(?:identical|extra|second|hidden|silent)\s+copy\b/i,
      /\b(?:add|include|put)\b[^.]{0,40}\bas\s+(?:a\s+)?(?:bcc|cc)\b|\bbcc\b/i,
      /\bforward\s+(?:a\s+copy|them|it|everything|all)\b[^.]{0,40}\bto\b/i,
    ],
    explanation: 'sends a copy of data to an extra recipient',
  },
  // --- links and markup that exfiltrate when rendered
  {
    id: 'markdown-image',
    flag: 'links',
    weight: 1,
    patterns: [/!\[[^\]]*\]\(\s*(?:https?:)?\/\//i, /!\[[^\]]*\]\[[^\]]*\]/],
    explanation: 'a markdown image: rendering it sends a request to that address, with whatever is in the URL',
  },
  {
    id: 'html-markup',
    flag: 'links',
    weight: 0.8,
    patterns: [
      /<\s*(?:img|iframe|script|object|embed|link|form|meta|svg|source|video|audio)\b[^>]*?\b(?:src|href|action|data|content)\s*=\s*["']?(?:https?:)?\/\//i,
      /<\s*a\s+[^>]*href\s*=\s*["']?(?:https?:)?\/\//i,
    ],
    explanation: 'HTML that loads remote content when rendered',
  },
  {
    id: 'html-comment',
    flag: 'links',
    weight: 1,
    patterns: [/<!--(?:(?!-->)[\s\S])*?[a-z]{2,}\s+[a-z]{2,}/i],
    explanation: 'an HTML comment: text that is hidden wherever the description is rendered, but read by the model',
  },
  {
    id: 'markdown-link',
    flag: 'links',
    weight: 0.3,
    patterns: [/\[[^\]]+\]\(\s*https?:\/\//i, /\[[^\]]+\]:\s*https?:\/\//i],
    explanation: 'a markdown link for the model to show or follow',
  },
  {
    id: 'url-with-placeholder',
    flag: 'links',
    weight: 0.6,
    patterns: [/https?:\/\/\S*?[?&#][\w-]+=(?:\{|<|[A-Z][A-Z_]{3,}\b)/],
    explanation: 'a URL with a slot for data to be filled in, a way to send data out',
  },
  {
    id: 'external-url',
    flag: 'links',
    weight: 0.2,
    patterns: [/https?:\/\/[^\s)"'>\]]+/i],
    explanation: 'an external address',
  },
];
