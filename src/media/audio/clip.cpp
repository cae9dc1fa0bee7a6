// Clips: 8 kHz samples with both G.711 encodings made once, up front.
#include "clip.hpp"

#include "g711.hpp"

namespace swmld::media {

ClipPtr make_clip(std::vector<std::int16_t> pcm) {
  auto clip = std::make_shared<Clip>();
  clip->ulaw.resize(pcm.size());
  clip->alaw.resize(pcm.size());
  encode_g711(Law::ulaw, pcm, clip->ulaw.data());
  encode_g711(Law::alaw, pcm, clip->alaw.data());
  clip->pcm = std::move(pcm);
  return clip;
}

}  // namespace swmld::media
