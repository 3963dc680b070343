// The prompt template for chat: the router renders /v1/chat/completions with it, and exports carry it as Jinja in
// tokenizer_config.json so transformers' apply_chat_template renders the same text. The tiny models this project
// trains have no chat template of their own, so the format is fixed and documented (../serve/README.md):
//
//   <|system|>\n{content}\n<|user|>\n{content}\n<|assistant|>\n{content}\n ... <|assistant|>\n
//
// one block per message in order, then an open assistant block the model continues.
export type ChatRole = 'system' | 'user' | 'assistant';
export interface ChatMessage { role: ChatRole; content: string }

export function renderChat(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `<|${m.role}|>\n${m.content}\n`).join('') + '<|assistant|>\n';
}

/** renderChat in Jinja (with add_generation_prompt, as the router always opens the assistant's block). */
export const CHAT_TEMPLATE_JINJA =
  "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";
