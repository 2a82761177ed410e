/**
 * Every content field the doors must keep out of the file while captureContent is off (issue #13
 * item 2). Each value carries SECRET so a test can assert that no byte of it reached the file.
 */
export const SECRET = 'SECRET';
const s = (k: string): string => `${SECRET}-${k}`;
const LONG = 'x'.repeat(300);

/** Free-form record() data: known content keys at any depth, and long strings under harmless names. */
export const FREE_FORM: Array<Record<string, unknown>> = [
  { text: s('text') },
  { Text: s('Text') },
  { completion: s('completion') },
  { completionText: s('completionText') },
  { completion_text: s('completion_text') },
  { prompt: s('prompt') },
  { userPrompt: s('userPrompt') },
  { content: s('content') },
  { insert_text: s('insert_text') },
  { insertText: s('insertText') },
  { suggestion: s('suggestion') },
  { code: s('code') },
  { sourceCode: s('sourceCode') },
  { body: s('body') },
  { output: s('output') },
  { input: s('input') },
  { message: s('message') },
  { messages: [{ role: 'user', content: s('messages[].content') }] },
  { response: s('response') },
  { responseText: s('responseText') },
  { query: s('query') },
  { snippet: s('snippet') },
  { diff: s('diff') },
  { stdout: s('stdout') },
  { transcript: s('transcript') },
  { instructions: s('instructions') },
  { arguments: s('arguments') },
  { 'gen_ai.prompt': s('gen_ai.prompt') },
  { 'gen_ai.completion': s('gen_ai.completion') },
  { 'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: s('gen_ai.input.messages') }] }]) },
  { 'gen_ai.output.messages': [{ role: 'assistant', parts: [{ type: 'text', content: s('gen_ai.output.messages') }] }] },
  { 'gen_ai.system_instructions': s('gen_ai.system_instructions') },
  { 'gen_ai.tool.call.arguments': s('gen_ai.tool.call.arguments') },
  { 'gen_ai.tool.call.result': s('gen_ai.tool.call.result') },
  { 'gen_ai.prompt.0.content': s('gen_ai.prompt.0.content') },
  { 'llm.prompts': [s('llm.prompts')] },
  { nested: { deeper: [{ text: s('nested text') }, { ok: 1 }] } },
  // Acronyms before the content word, numbered keys, and value-holder suffixes (OpenInference's
  // input.value / output.value, flattened message lists, prompt templates).
  { LLMPrompt: s('LLMPrompt') },
  { AIResponse: s('AIResponse') },
  { HTMLContent: s('HTMLContent') },
  { text1: s('text1') },
  { prompt_2: s('prompt_2') },
  { 'messages.0': s('messages.0') },
  { 'input.value': s('input.value') },
  { 'output.value': s('output.value') },
  { completionValue: s('completionValue') },
  { 'llm.prompt_template.template': s('llm.prompt_template.template') },
  { 'llm.prompt_template.variables': s('llm.prompt_template.variables') },
  // Fill-in-the-middle context and chat turns.
  { prefix: s('prefix'), suffix: s('suffix') },
  { question: s('question'), answer: s('answer') },
  { reply: s('reply') },
  { note: LONG + s('long string') },
  { list: ['short', LONG + s('long string in a list')] },
];

/** Content an AI event (recordAiEvent, ai.completion.* types) may carry. */
export const AI_CONTENT: Record<string, string> = {
  text: s('ai text'),
  'gen_ai.prompt': s('ai gen_ai.prompt'),
  'gen_ai.completion': s('ai gen_ai.completion'),
  'gen_ai.input.messages': s('ai gen_ai.input.messages'),
  'gen_ai.output.messages': s('ai gen_ai.output.messages'),
  'gen_ai.system_instructions': s('ai gen_ai.system_instructions'),
  'gen_ai.tool.call.arguments': s('ai gen_ai.tool.call.arguments'),
  'gen_ai.tool.call.result': s('ai gen_ai.tool.call.result'),
};

/** The seed's payloads (POST /telemetry/vscode/event, or a CLI stdin line), AI and not. */
export const SEED_PAYLOADS: Array<Record<string, unknown>> = [
  { event_type: 'completion_accepted', extension: 'continue', is_local: true, success: true, model: 'qwen', prompt: s('seed prompt'), completion: s('seed completion'), text: s('seed text'), suggestion: s('seed suggestion'), code: s('seed code') },
  { event_type: 'chat_message', extension: 'continue', is_local: true, success: true, prompt: s('seed chat prompt'), response: s('seed chat response'), messages: [{ role: 'user', content: s('seed messages') }] },
];
