// One script, several Apify API calls: search the Store, look closer at the top hit, and print a
// short report instead of sending every intermediate result back through an agent's context.
// Store search works without a token; calls that start Actors need one:
//   APIFY_TOKEN=<your token> npm start -- examples/apify-store.ts
/// <reference path="../types/apify.d.ts" />

const query = 'web scraper';
const actors = await apify.actor.search({ query, limit: 5 });
console.log(`${actors.length} Actor${actors.length === 1 ? "" : "s"} for "${query}":`);
for (const actor of actors) console.log(`- ${actor.username}/${actor.name}: ${actor.title ?? ''}`);

const top = actors[0];
if (top) {
  const details = await apify.actor.getDetails({ actorId: `${top.username}/${top.name}` });
  console.log(`\nTop hit: ${details.title ?? details.name}, by ${details.username}`);
}
