// A first script: plain TypeScript, top-level await, and output on both streams.
/// <reference path="../types/apify.d.ts" />
interface Greeting {
  name: string;
  lang: string;
}

const greetings: Greeting[] = [
  { name: 'world', lang: 'en' },
  { name: 'svět', lang: 'cs' },
];

for (const { name, lang } of greetings) {
  await new Promise((resolve) => setTimeout(resolve, 10));
  console.log(`Hello, ${name}! (${lang})`);
}
console.error('This line went to stderr.');
console.log(`The global apify client is ${typeof apify === 'object' ? 'ready' : 'missing'}.`);
