// DeepSeek-V3's chat template, the one definition for SFT (which tokens carry the loss), GRPO's prompts, the router's
// /v1/chat/completions and the export's tokenizer_config.json (as Jinja, so transformers' apply_chat_template renders
// the same text). DeepSeek-V3's tokenizer_config.json, without its tool-call branches:
//
//   <｜begin▁of▁sentence｜>{system contents joined by \n\n}<｜User｜>{user}<｜Assistant｜>{answer}<｜end▁of▁sentence｜>...
//
// then, as a generation prompt, <｜Assistant｜>. System messages go first wherever they stand, as in DeepSeek's.
// The special tokens are plain strings here: a tokenizer that has them (tokenizer.ts withChatTokens, an HF tokenizer
// with added tokens) encodes each to its own id; one without encodes their UTF-8 bytes, so older models still work.
export type ChatRole = 'system' | 'user' | 'assistant';
export interface ChatMessage { role: ChatRole; content: string }

export const CHAT_TOKENS = {
  bos: '<｜begin▁of▁sentence｜>',
  eos: '<｜end▁of▁sentence｜>',
  user: '<｜User｜>',
  assistant: '<｜Assistant｜>',
} as const;

/** The special strings in id order (withChatTokens gives them ids after the base vocabulary, in this order). */
export const CHAT_SPECIALS: readonly string[] = [CHAT_TOKENS.bos, CHAT_TOKENS.eos, CHAT_TOKENS.user, CHAT_TOKENS.assistant];

/** A piece of a rendered conversation; `loss` marks what SFT trains on: an assistant's content and its end-of-sentence. */
export interface ChatPiece { text: string; loss: boolean }

/** The conversation as pieces; `generationPrompt` appends the open <｜Assistant｜> the model continues. */
export function chatPieces(messages: readonly ChatMessage[], generationPrompt: boolean): ChatPiece[] {
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
  const out: ChatPiece[] = [{ text: CHAT_TOKENS.bos + system, loss: false }];
  for (const m of messages) {
    if (m.role === 'user') out.push({ text: CHAT_TOKENS.user + m.content, loss: false });
    else if (m.role === 'assistant') {
      out.push({ text: CHAT_TOKENS.assistant, loss: false });
      out.push({ text: m.content + CHAT_TOKENS.eos, loss: true });
    }
  }
  if (generationPrompt) out.push({ text: CHAT_TOKENS.assistant, loss: false });
  return out.filter((p) => p.text !== '');
}

/** The prompt the router and GRPO give the model: the conversation and an open assistant turn. */
export function renderChat(messages: readonly ChatMessage[]): string {
  return chatPieces(messages, true).map((p) => p.text).join('');
}

/** renderChat in Jinja (with add_generation_prompt, as the router always opens the assistant's turn). */
export const CHAT_TEMPLATE_JINJA =
  "{% set ns = namespace(system='', first=true) %}" +
  "{% for message in messages %}{% if message['role'] == 'system' %}" +
  "{% if ns.first %}{% set ns.system = message['content'] %}{% set ns.first = false %}" +
  "{% else %}{% set ns.system = ns.system + '\\n\\n' + message['content'] %}{% endif %}{% endif %}{% endfor %}" +
  `{{ '${CHAT_TOKENS.bos}' + ns.system }}` +
  "{% for message in messages %}" +
  `{% if message['role'] == 'user' %}{{ '${CHAT_TOKENS.user}' + message['content'] }}{% endif %}` +
  `{% if message['role'] == 'assistant' %}{{ '${CHAT_TOKENS.assistant}' + message['content'] + '${CHAT_TOKENS.eos}' }}{% endif %}` +
  "{% endfor %}" +
  `{% if add_generation_prompt %}{{ '${CHAT_TOKENS.assistant}' }}{% endif %}`;
