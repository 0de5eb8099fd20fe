#version 330
// Pass 1, over the person mesh: warped photo (+ matte), generated image, visibility (DESIGN.md §4).
uniform sampler2D u_photo;        // photo crop at this scale: rgb + person matte in alpha
uniform sampler2D u_generated_px;    // working grid: full-resolution photo pixel the generated colour is read from
uniform sampler2D u_generated_gain;  // working grid: rgb = its colour gain / 2, a = weight over the photo's own
// Built with GENERATED_VIEW defined for a backend that has an image of each view (render/scene.py).
#ifdef GENERATED_VIEW
uniform sampler2D u_generated_view;  // a backend's image of this view, premultiplied (a = trust), mipmapped
uniform vec4 u_generated_view_rect;  // the full-resolution output rectangle it covers: x0, y0, w, h
#endif
uniform float u_torn;             // 1 while drawing the triangles torn across a depth jump
uniform vec4 u_texture;           // full-resolution rectangle the photo crop covers: x0, y0, w, h
uniform vec4 u_window;            // output window (this viewport): x0, y0, w, h in full-resolution pixels
uniform float u_scale;            // output pixels per full-resolution pixel

in vec2 v_uv;
in vec2 v_work;
in vec2 v_src;
in float v_quality;
in float v_edit;

layout(location = 0) out vec4 out_warped;
layout(location = 1) out vec4 out_generated;
layout(location = 2) out vec4 out_visibility;

void main() {
    vec4 photo = texture(u_photo, v_uv);
    // Source pixels per output pixel (area); below ~0.5 the photo is being stretched over new ground.
    vec2 sx = dFdx(v_src) * u_scale;
    vec2 sy = dFdy(v_src) * u_scale;
    float density = abs(sx.x * sy.y - sx.y * sy.x);
    // Background caught in the triangles along the outline, and the outline's soft edge stretched by a
    // turn: never in front of the head's revealed side (the skirt behind, or the plate, shows there).
    // The skirt (quality < 0, the head's hidden side) is head wherever its colour comes from.
    if (v_quality < 0.0) photo.a = 1.0;
    else if (photo.a < 0.01 || (photo.a < 0.5 && density < 0.5)) discard;
    vec3 generated = photo.rgb;
    vec4 gain = texture(u_generated_gain, v_work);
    if (gain.a > 0.002) {
        // The generated texture: the photo read at another pixel, with a colour gain.
        vec2 source = texture(u_generated_px, v_work).rg;
        vec3 resampled = texture(u_photo, (source + 0.5 - u_texture.xy) / u_texture.zw).rgb * gain.rgb * 2.0;
        generated = mix(photo.rgb, clamp(resampled, 0.0, 1.0), gain.a);
    }
#ifdef GENERATED_VIEW
    {
        // The backend's image of this view, where it covers this fragment's full-resolution output position
        // (pixel edges), laid over by its alpha, on what the edit moves only (v_edit: never on the still
        // torso, whose low visibility is only the photo's own). Its level of detail from the texels per output pixel.
        vec2 at = (u_window.xy + gl_FragCoord.xy / u_scale - u_generated_view_rect.xy) / u_generated_view_rect.zw;
        vec2 texels = vec2(textureSize(u_generated_view, 0)) / (u_generated_view_rect.zw * u_scale);
        vec4 view = textureLod(u_generated_view, at, log2(max(max(texels.x, texels.y), 1.0)));
        if (any(lessThan(at, vec2(0.0))) || any(greaterThan(at, vec2(1.0)))) view = vec4(0.0);
        view *= clamp(v_edit, 0.0, 1.0);
        generated = generated * (1.0 - view.a) + view.rgb;
    }
#endif
    float validity = smoothstep(0.2, 0.55, density) * (1.0 - u_torn);
    out_warped = photo;
    out_generated = vec4(generated, photo.a);
    out_visibility = vec4(validity * max(v_quality, 0.0), v_edit, 1.0, 1.0);
}
