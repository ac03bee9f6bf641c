import { MusicGenieApp } from "@/components/App";

export default function Page() {
  return <MusicGenieApp />;
}
