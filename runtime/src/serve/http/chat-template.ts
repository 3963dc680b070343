// The prompt template for /v1/chat/completions. The tiny models this project trains have no chat template of their
// own, so the router renders messages in one fixed, documented format (../README.md):
//
//   <|system|>\n{content}\n<|user|>\n{content}\n<|assistant|>\n{content}\n ... <|assistant|>\n
//
// one block per message in order, then an open assistant block the model continues.
export type ChatRole = 'system' | 'user' | 'assistant';
export interface ChatMessage { role: ChatRole; content: string }

export function renderChat(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `<|${m.role}|>\n${m.content}\n`).join('') + '<|assistant|>\n';
}
