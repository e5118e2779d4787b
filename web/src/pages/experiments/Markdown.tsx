import ReactMarkdown from 'react-markdown';

/**
 * Notes are Markdown written by members: rendered without raw HTML (react-markdown escapes it by
 * default, and skipHtml drops it), so a note cannot inject markup or script.
 */
export default function Markdown({ source }: { source: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown skipHtml>{source}</ReactMarkdown>
    </div>
  );
}
