#version 330
// Draft (slider-drag) frame, step 3 of 3 (drawn last, only where the person did not land): the photo,
// with the background plate where the head was. Sampled as draft_person.frag samples them.
uniform sampler2D u_photo;       // photo crop (rgb + matte)
uniform sampler2D u_backdrop;    // per crop pixel: rgb = photo with the plate where the head was, a = reach
uniform sampler2D u_coarse;      // the visibility pass at 1/4 resolution: g = edit weight
uniform vec4 u_window;           // output window: x0, y0, width, height in full-resolution pixels
uniform vec4 u_texture;          // photo crop: x0, y0, width, height in full-resolution pixels
uniform vec2 u_extent;           // part of the coarse texture this window uses (uv units)

in vec2 v_uv;
out vec4 out_colour;

void main() {
    vec2 here = (u_window.xy + v_uv * u_window.zw - u_texture.xy) / u_texture.zw;
#ifdef SAME_RESOLUTION
    ivec2 texel = ivec2(here * vec2(textureSize(u_photo, 0)));  // the frame's pixels are the crop's
    vec3 base = texelFetch(u_photo, texel, 0).rgb;
    vec4 backdrop = texelFetch(u_backdrop, texel, 0);
#else
    vec3 base = texture(u_photo, here).rgb;
    vec4 backdrop = texture(u_backdrop, here);
#endif
    float m = max(clamp(texture(u_coarse, v_uv * u_extent).g * 6.0, 0.0, 1.0), backdrop.a);
    out_colour = vec4(mix(base, backdrop.rgb, m), m);
}
